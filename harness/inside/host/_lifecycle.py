"""Loading and stopping one extension, each step bounded and attributed.

A step that fails raises :class:`LoadFailure` with the text the host shows in
``load_errors`` ("initialize raised RuntimeError: boom", "start timed out
after 2.0s"); whatever the extension had already acquired is released.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from dufflebag_harness import HOST_API_VERSION
from dufflebag_harness.inside.host._callables import is_async_callable
from dufflebag_harness.inside.host._config import (
    apply_config_now,
    check_schema,
    merge_defaults,
    validate_config,
)
from dufflebag_harness.inside.host._faults import TokenBucket, error_response
from dufflebag_harness.inside.host._hooks import bind_hooks
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.inside.host._router import ExtensionRouter
from dufflebag_harness.inside.host.services import (
    ExtensionAudit,
    ExtensionConfig,
    ExtensionLogger,
    ExtensionMetrics,
    MemoryCache,
    ReadOnlyAuth,
    RootedStorage,
)
from dufflebag_harness.sdk import (
    ConfigError,
    Hook,
    HookType,
    Metadata,
    Middleware,
    Services,
    StorageError,
)

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["LoadFailure", "call_lifecycle", "load_extension", "stop_extension"]

log = logging.getLogger("dufflebag.host.lifecycle")
_MIB = 1024 * 1024


class LoadFailure(Exception):
    """An extension could not be loaded; the message is what the host reports."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def call_lifecycle(fn: Callable[..., Any], *args: Any, what: str, timeout_s: float) -> Any:
    """Call a sync or async extension method within ``timeout_s``; failures → LoadFailure."""
    try:
        with anyio.fail_after(timeout_s):
            if is_async_callable(fn):
                return await fn(*args)
            result = await anyio.to_thread.run_sync(
                functools.partial(fn, *args), abandon_on_cancel=True
            )
            if inspect.isawaitable(result):
                result = await result
            return result
    except TimeoutError:
        raise LoadFailure(f"{what} timed out after {timeout_s}s") from None
    except Exception as exc:
        raise LoadFailure(f"{what} raised {_describe(exc)}") from exc


async def _call_sync(fn: Callable[..., Any], *args: Any, what: str) -> Any:
    """Registration methods are sync by contract; an awaitable result is awaited."""
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            result = await result
        return result
    except LoadFailure:
        raise
    except Exception as exc:
        raise LoadFailure(f"{what} raised {_describe(exc)}") from exc


def _check_metadata(record: ExtensionRecord) -> Metadata:
    meta = getattr(record.extension, "metadata", None)
    if not isinstance(meta, Metadata):
        raise LoadFailure("metadata is missing or not a dufflebag_harness.sdk.Metadata")
    try:
        spec = SpecifierSet(meta.host_api)
    except InvalidSpecifier:
        raise LoadFailure(f"host_api {meta.host_api!r} is not a valid version specifier") from None
    if not spec.contains(Version(HOST_API_VERSION), prereleases=True):
        raise LoadFailure(
            f"host_api {meta.host_api!r} does not admit host API {HOST_API_VERSION}; "
            "build the extension against a compatible dufflebag_harness.sdk"
        )
    return meta


def _check_middleware(items: object) -> tuple[Middleware, ...]:
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise LoadFailure("middleware() must return a sequence of Middleware")
    out: list[Middleware] = []
    for item in items:
        if not isinstance(item, Middleware) or not callable(item.factory):
            raise LoadFailure(f"middleware() returned {item!r}, not a Middleware")
        if item.paths is not None and not all(isinstance(p, str) for p in item.paths):
            raise LoadFailure(f"middleware {item.name!r}: paths must be a tuple of strings")

        async def probe(scope: Any, receive: Any, send: Any) -> None:  # never called
            return None

        try:
            item.factory(probe)
        except Exception as exc:
            raise LoadFailure(f"middleware {item.name!r} factory raised {_describe(exc)}") from exc
        out.append(item)
    return tuple(out)


def _check_hooks(items: object) -> tuple[Hook, ...]:
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise LoadFailure("hooks() must return a sequence of Hook")
    out: list[Hook] = []
    for item in items:
        if not isinstance(item, Hook) or not callable(item.handler):
            raise LoadFailure(f"hooks() returned {item!r}, not a Hook")
        try:
            HookType(item.type)
        except ValueError:
            raise LoadFailure(f"hook {item.name!r}: unknown hook type {item.type!r}") from None
        if item.paths is not None and not all(isinstance(p, str) for p in item.paths):
            raise LoadFailure(f"hook {item.name!r}: paths must be a tuple of strings")
        out.append(item)
    return tuple(out)


def _static_handler(folder: Path) -> Callable[[Request], Any]:
    storage = RootedStorage(folder)

    async def serve(request: Request) -> Response:
        try:
            target = storage.resolve(str(request.path_params["path"]))
        except StorageError:
            return error_response(404, "not found")
        if not target.is_file():
            return error_response(404, "not found")
        return FileResponse(target)

    return serve


def _register_static(record: ExtensionRecord, router: ExtensionRouter) -> None:
    assets = record.extension.static_assets()
    if not assets:
        return
    base = Path(inspect.getfile(type(record.extension))).parent.resolve()
    static: list[tuple[str, Path]] = []
    for sub, folder in assets.items():
        sub = str(sub).strip("/")
        directory = (base / folder).resolve()
        if not directory.is_relative_to(base):
            raise LoadFailure(
                f"static asset folder {folder!r} for '/{sub}' is outside the extension's "
                f"package ({base})"
            )
        if not directory.is_dir():
            raise LoadFailure(f"static asset folder {folder!r} for '/{sub}' does not exist")
        router.get(f"/{sub}/{{path:path}}", _static_handler(directory), name=f"static:{sub}")
        static.append((sub, directory))
    record.static = tuple(static)


def _services(state: HostState, record: ExtensionRecord) -> Services:
    assert record.database is not None and record.config_service is not None
    name = record.name
    storage_quota = record.quotas.storage_mb * _MIB if record.quotas.storage_mb > 0 else 0
    return Services(
        name=name,
        database=record.database,
        auth=ReadOnlyAuth(state.authz),
        logger=ExtensionLogger(name),
        storage=RootedStorage(state.storage_root / name, quota_bytes=storage_quota),
        cache=MemoryCache(state.options.cache_max_entries),
        config=record.config_service,
        metrics=ExtensionMetrics(name, state.metrics.registry),
        audit=ExtensionAudit(name, state.append_audit),
        extras={"capabilities": record.capabilities, "quotas": record.quotas},
    )


async def load_extension(state: HostState, record: ExtensionRecord) -> None:
    """Run every load step for ``record``; on failure release what was acquired."""
    try:
        await _load_steps(state, record)
    except LoadFailure:
        await _release(state, record)
        raise


async def _load_steps(state: HostState, record: ExtensionRecord) -> None:
    ext, name = record.extension, record.name
    timeout = state.options.lifecycle_timeout_s
    _check_metadata(record)
    try:
        record.database = await anyio.to_thread.run_sync(
            functools.partial(
                state.database.for_extension, name, pool_size=record.quotas.db_connections
            )
        )
        await anyio.to_thread.run_sync(record.database.migrate, tuple(ext.migrations))
    except Exception as exc:
        raise LoadFailure(f"migrations failed: {_describe(exc)}") from exc
    try:
        check_schema(ext.config_schema)
    except ConfigError as exc:
        raise LoadFailure(exc.reason) from exc
    try:
        config = validate_config(
            ext.config_schema, merge_defaults(ext.default_config, record.config_given or {})
        )
    except ConfigError as exc:
        raise LoadFailure(f"configuration invalid at {exc.path}: {exc.reason}") from exc
    try:
        apply_config_now(ext, config)
    except ConfigError as exc:
        raise LoadFailure(f"apply_config refused the configuration: {exc}") from exc
    record.config = config
    record.config_service = ExtensionConfig(name, config)
    record.services = _services(state, record)
    record.initialized = True
    await call_lifecycle(ext.initialize, record.services, what="initialize", timeout_s=timeout)
    router = ExtensionRouter(name)
    await _call_sync(ext.register_routes, router, what="register_routes")
    await _call_sync(_register_static, record, router, what="static_assets")
    record.router = router
    record.middleware = _check_middleware(await _call_sync(ext.middleware, what="middleware"))
    record.hooks = _check_hooks(await _call_sync(ext.hooks, what="hooks"))
    record.bound_hooks = bind_hooks(record, record.hooks)
    try:
        state.authz.define(name, tuple(ext.permissions))
    except (TypeError, ValueError) as exc:
        raise LoadFailure(f"permissions refused: {exc}") from exc
    if record.quotas.requests_per_second > 0:
        record.bucket = TokenBucket(record.quotas.requests_per_second)
    record.sync_limiter = anyio.CapacityLimiter(state.options.sync_pool_size)
    await call_lifecycle(ext.start, what="start", timeout_s=timeout)
    record.started = True


async def _release(state: HostState, record: ExtensionRecord) -> None:
    if record.initialized:
        await stop_extension(state, record)
    state.authz.forget(record.name)
    record.router = None
    record.middleware = ()
    record.hooks = ()
    record.bound_hooks = ()
    if record.database is not None:
        try:
            await anyio.to_thread.run_sync(record.database.dispose)
        except Exception:
            log.exception("disposing the database of %r failed", record.name)


async def stop_extension(state: HostState, record: ExtensionRecord) -> None:
    """Call ``stop()`` once; errors and timeouts are logged, never raised."""
    if not record.initialized:
        return
    record.initialized = False
    record.started = False
    try:
        await call_lifecycle(
            record.extension.stop, what="stop", timeout_s=state.options.lifecycle_timeout_s
        )
    except LoadFailure as exc:
        log.error("extension %r: %s", record.name, exc, extra={"extension": record.name})
