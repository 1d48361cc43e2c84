"""The worker side: imports extension code, builds hosts, answers on a pipe.

Runs as ``python -I -m dufflebag_harness.inside.worker --cmd-fd R --reply-fd W``. Everything it
says is data for the parent to validate; it decides nothing about results.
"""

from __future__ import annotations

import importlib
import os
import platform
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dufflebag_harness import __version__
from dufflebag_harness.inside.worker._faults import apply_faults
from dufflebag_harness.inside.worker._loop import LoopThread
from dufflebag_harness.shared import contract
from dufflebag_harness.shared.contract import ContractError, check_args
from dufflebag_harness.shared.dependencies import with_requirements
from dufflebag_harness.shared.protocol import (
    PROTOCOL_VERSION,
    LineReader,
    ProtocolError,
    decode,
    encode,
)

if TYPE_CHECKING:
    from dufflebag_harness.inside.host import Host, SeedUser
    from dufflebag_harness.sdk import Extension


class OpError(Exception):
    """An operation failed in a way the parent should see as data."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class LoadedExtension:
    name: str
    cls: type
    quotas: dict[str, Any] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


@dataclass
class RunningHost:
    host: Any
    server: Any
    task: Any
    port: int
    storage: tempfile.TemporaryDirectory[str]
    listener: int


def _loopback_twin(port: int) -> list[socket.socket]:
    """The host also on 127.0.0.1:``port`` of the sandbox's own loopback.

    The parent's socket lives in the parent's network; inside the sandbox the same
    address is the sandbox's own loopback, where nothing would answer. Extension code
    that calls its host back over HTTP (``scope["server"]``) must reach the host there
    as it would in production, so that what it does with it is judged. Outside a
    sandbox the port is the parent's socket itself and binding it again fails: nothing
    to add.
    """
    twin = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        twin.bind(("127.0.0.1", port))
        twin.listen(128)
    except OSError:
        twin.close()
        return []
    return [twin]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return _jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class WorkerServer:
    def __init__(self, listeners: Sequence[int] = ()) -> None:
        #: fds of listening sockets the parent handed in, free ones first in line
        self._listeners: list[int] = list(listeners)
        self.extensions: dict[str, LoadedExtension] = {}
        self.import_errors: dict[str, str] = {}
        self.hosts: dict[str, RunningHost] = {}
        self._loop: LoopThread | None = None
        self._next_host = 0
        from dufflebag_harness.inside.worker._probes import PROBES

        #: Ops and probes as the contract declares them (a difference stops the worker).
        self.probes = PROBES
        self.ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = contract.bind(
            contract.OPS, {
                "hello": self.op_hello,
                "load": self.op_load,
                "host.start": self.op_host_start,
                "host.stop": self.op_host_stop,
                "probe": self.op_probe,
                "shutdown": self.op_shutdown,
            }, "ops")

    @property
    def loop(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    # -- ops -------------------------------------------------------------
    def op_hello(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "uid": os.getuid(),
            "gid": os.getgid(),
            "pid": os.getpid(),
            "python": platform.python_version(),
            "harness_version": __version__,
            "protocol": PROTOCOL_VERSION,
            "isolated": bool(sys.flags.isolated),
        }

    def op_load(self, args: dict[str, Any]) -> dict[str, Any]:
        from dufflebag_harness.sdk import Extension

        loaded: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for item in args.get("extensions", []):
            name = item["name"]
            root = str(item["root"])
            module_name, _, attr = str(item["entry"]).partition(":")
            if root not in sys.path:
                # after site-packages: an extension package can never shadow a library
                sys.path.append(root)
            try:
                module = importlib.import_module(module_name)
                cls = getattr(module, attr)
            except BaseException as exc:
                errors[name] = (
                    f"entry {item['entry']!r} failed to import: {type(exc).__name__}: {exc}"
                )
                continue
            if not (isinstance(cls, type) and issubclass(cls, Extension)):
                errors[name] = (f"entry {item['entry']!r} is not a "
                                "dufflebag_harness.sdk.Extension subclass")
                continue
            self.import_errors.pop(name, None)
            self.extensions[name] = LoadedExtension(
                name, cls, dict(item.get("quotas") or {}), list(item.get("capabilities") or []),
                [str(r) for r in item.get("requires") or []],
            )
            loaded[name] = self._describe(cls)
        self.import_errors.update(errors)
        # the harness's own event-loop thread exists before any check counts the
        # worker's threads and descriptors from outside (it is not the extension's)
        _ = self.loop
        return {"loaded": loaded, "errors": errors}

    def new_host(
        self,
        names: Sequence[str],
        *,
        storage_root: Path,
        database: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        users: Sequence[SeedUser] = (),
        config: Mapping[str, Any] | None = None,
        faults: Mapping[str, str] | None = None,
        prepare: Callable[[str, Extension], None] | None = None,
    ) -> tuple[Host, dict[str, Extension]]:
        """A host (not started) with fresh instances of ``names`` and of the loaded
        extensions they require (transitively; each added after what it requires),
        exactly as the platform would run them; the parent decided (``--with``)
        which ones exist.

        ``database`` is ``host.start``'s argument (default: a private SQLite
        database); ``config`` maps names to their configuration; ``prepare`` may
        wrap each instance of ``names`` before the host sees it, then ``faults``
        (name → kind) are injected.
        """
        from dufflebag_harness.inside.host import Host, HostOptions
        from dufflebag_harness.inside.worker._databases import DatabaseArgsError, provider_from_args
        from dufflebag_harness.sdk import Quotas

        for n in names:
            self.loaded(n)
        order = with_requirements(names, {n: e.requires for n, e in self.extensions.items()})
        try:
            provider = provider_from_args(database)
        except DatabaseArgsError as exc:
            raise OpError("UnsupportedBackend", str(exc)) from None
        host = Host(HostOptions(**dict(options or {})), database=provider, users=list(users),
                    storage_root=storage_root)
        instances: dict[str, Extension] = {n: self.extensions[n].cls() for n in order}
        if prepare is not None:
            for n in names:
                prepare(n, instances[n])
        apply_faults(instances, dict(faults or {}))
        configs = config or {}
        for n in order:
            spec = self.extensions[n]
            host.add(instances[n], quotas=Quotas(**spec.quotas) if spec.quotas else Quotas(),
                     capabilities=frozenset(spec.capabilities), config=configs.get(n))
        return host, instances

    def loaded(self, name: str) -> LoadedExtension:
        """The loaded extension ``name``; its import error as an OpError otherwise."""
        if name in self.extensions:
            return self.extensions[name]
        if name in self.import_errors:
            raise OpError("ExtensionImportError", self.import_errors[name])
        raise OpError("UnknownExtension", f"extension {name!r} was never loaded")

    @staticmethod
    def _describe(cls: type) -> dict[str, Any]:
        meta = getattr(cls, "metadata", None)
        return {
            "metadata": _jsonable(meta) if meta is not None else None,
            "config_schema": _jsonable(getattr(cls, "config_schema", None)),
            "default_config": _jsonable(getattr(cls, "default_config", None)),
            "migrations": [
                {"version": m.version, "description": m.description}
                for m in getattr(cls, "migrations", ())
            ],
            "permissions": _jsonable(list(getattr(cls, "permissions", ()))),
            "roles": list(getattr(cls, "roles", ())),
        }

    def op_host_start(self, args: dict[str, Any]) -> dict[str, Any]:
        from dufflebag_harness.inside.host import SeedUser

        users = [
            SeedUser(
                id=int(u["id"]),
                username=str(u["username"]),
                roles=frozenset(u.get("roles", [])),
                token=str(u["token"]),
            )
            for u in args.get("users", [])
        ]
        storage = tempfile.TemporaryDirectory(prefix="dbh-storage-")
        try:
            host, _ = self.new_host(
                list(args.get("extensions", [])), storage_root=Path(storage.name),
                database=args.get("database"), options=args.get("options"), users=users,
                config=args.get("config"), faults=args.get("faults"),
            )
        except BaseException:
            storage.cleanup()
            raise
        try:
            listener = self._take_listener()
        except OpError:
            storage.cleanup()
            raise
        try:
            self.loop.run(host.start(), timeout=float(args.get("start_timeout_s", 60)))
            server, task, port = self.loop.run(self._serve(host.app, listener))
        except BaseException:
            self._listeners.append(listener)
            storage.cleanup()
            raise
        self._next_host += 1
        host_id = f"h{self._next_host}"
        self.hosts[host_id] = RunningHost(host, server, task, port, storage, listener)
        return {"host_id": host_id, "port": port, "load_errors": dict(host.load_errors)}

    def _take_listener(self) -> int:
        if not self._listeners:
            raise OpError("NoListener", "every listening socket the parent gave is in use: "
                                        "stop a host before starting another")
        return self._listeners.pop(0)

    async def _serve(self, app: Any, listener: int) -> tuple[Any, Any, int]:
        import asyncio

        import uvicorn

        # uvicorn closes the sockets it serves when it stops: serve a duplicate, so the
        # parent's listening socket (and its port) can serve the next host
        sock = socket.socket(fileno=os.dup(listener))
        port = sock.getsockname()[1]
        sockets = [sock, *_loopback_twin(port)]
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.ensure_future(server.serve(sockets=sockets))
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done():
                task.result()
                raise OpError("ServerError", "uvicorn stopped before it started")
            if time.monotonic() > deadline:
                raise OpError("ServerError", "uvicorn did not start within 10 s")
            await asyncio.sleep(0.005)
        return server, task, port

    def op_host_stop(self, args: dict[str, Any]) -> dict[str, Any]:
        running = self.hosts.pop(str(args.get("host_id")), None)
        if running is None:
            raise OpError("UnknownHost", f"no host {args.get('host_id')!r}")

        async def stop() -> None:
            import asyncio

            running.server.should_exit = True
            try:
                await asyncio.wait_for(running.task, timeout=10)
            finally:
                await running.host.stop()

        try:
            self.loop.run(stop(), timeout=30)
        finally:
            self._listeners.append(running.listener)  # least recently used goes last
            running.storage.cleanup()
        return {"stopped": True}

    def op_probe(self, args: dict[str, Any]) -> dict[str, Any]:
        probe = self.probes.get(str(args.get("op")))
        if probe is None:
            raise OpError("UnknownProbe", f"no probe {args.get('op')!r}")
        return probe(self, args)

    def op_shutdown(self, args: dict[str, Any]) -> dict[str, Any]:
        """Nothing to do here: :meth:`serve` answers, then ends."""
        return {}

    # -- loop --------------------------------------------------------------
    def serve(self, cmd_fd: int, reply_fd: int) -> int:
        reader = LineReader(cmd_fd)
        while True:
            try:
                line = reader.read_line()
            except ProtocolError:
                return 3
            if line is None:
                return 0
            try:
                msg = decode(line)
            except ProtocolError as exc:
                self._send(reply_fd, {"v": 0, "id": 0, "ok": False,
                                      "error": {"kind": "ProtocolError", "message": str(exc)}})
                continue
            req_id = int(msg.get("id", 0))
            op = str(msg.get("op"))
            try:
                args = dict(msg.get("args") or {})
                # an op or probe the contract does not declare, or arguments that do not
                # fit its types: refused before anything runs, naming the key
                check_args(op, args)
                result = self.ops[op](args)
                reply: dict[str, Any] = {
                    "v": 0, "id": req_id, "ok": True, "result": _jsonable(result)
                }
            except (OpError, ContractError) as exc:
                reply = {"v": 0, "id": req_id, "ok": False,
                         "error": {"kind": exc.kind, "message": exc.message[:20000]}}
            except BaseException as exc:
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                reply = {"v": 0, "id": req_id, "ok": False,
                         "error": {"kind": type(exc).__name__, "message": detail[:20000]}}
            self._send(reply_fd, reply)
            if op == "shutdown" and reply["ok"]:
                return 0

    @staticmethod
    def _send(fd: int, message: dict[str, Any]) -> None:
        try:
            data = encode(message)
        except ProtocolError as exc:
            data = encode({"v": 0, "id": message.get("id", 0), "ok": False,
                           "error": {"kind": "ProtocolError", "message": str(exc)}})
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
