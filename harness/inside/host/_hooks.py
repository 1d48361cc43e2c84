"""Hook registrations bound to their extension, in firing order, and the runner.

Each hook is bound once, when its extension loads: that is when the host decides
whether its handler is a coroutine function. The order is fixed when the route
table is built (lower priority first, then extension name, then registration
order) and each route keeps only the hooks that can apply to it
(:mod:`dufflebag_harness.inside.host._hookplan`), so firing is a walk over a short tuple.
A hook that raises or overruns ``hook_timeout_s`` is logged with its
extension's name, counted as that extension's failure, and skipped: the
request goes on.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dufflebag_harness.inside.host._callables import is_async_callable
from dufflebag_harness.inside.host._deadlines import Deadlines
from dufflebag_harness.inside.host._options import ExtensionState
from dufflebag_harness.inside.host._paths import path_matches
from dufflebag_harness.sdk import Hook, HookContext, HookType

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._registry import ExtensionRecord

__all__ = ["BoundHook", "HookEntry", "HookRunner", "bind_hooks", "order_hooks"]

log = logging.getLogger("dufflebag.host.hooks")

_ACTIVE = ExtensionState.ACTIVE


@dataclass(frozen=True, slots=True, eq=False)
class BoundHook:
    """One hook of one extension, with what firing it needs to know decided up front."""

    extension: str
    index: int  # registration order within the extension
    hook: Hook
    is_async: bool
    record: ExtensionRecord  # its state is checked when firing: an in-flight request may
    #                          still hold the route's hooks from before a disable

    @property
    def sort_key(self) -> tuple[int, str, int]:
        return (self.hook.priority, self.extension, self.index)


#: A hook to fire and the path patterns still to check per request (``None``: none left).
HookEntry = tuple[BoundHook, tuple[str, ...] | None]


def bind_hooks(record: ExtensionRecord, hooks: Iterable[Hook]) -> tuple[BoundHook, ...]:
    """Bind ``record``'s validated hooks, classifying each handler as sync or async."""
    return tuple(
        BoundHook(record.name, idx, hook, is_async_callable(hook.handler), record)
        for idx, hook in enumerate(hooks)
    )


def order_hooks(bound: Iterable[BoundHook]) -> Mapping[HookType, tuple[BoundHook, ...]]:
    """Group by type, each group in firing order; types without hooks are left out."""
    grouped: dict[HookType, list[BoundHook]] = {}
    for item in bound:
        grouped.setdefault(HookType(item.hook.type), []).append(item)
    return {t: tuple(sorted(items, key=lambda b: b.sort_key)) for t, items in grouped.items()}


class HookRunner:
    """Runs a route's hooks of one type against a context, isolating failures."""

    def __init__(
        self,
        *,
        timeout_s: float,
        on_failure: Callable[[str, str], None],
        deadlines: Deadlines,
    ) -> None:
        self._timeout_s = timeout_s
        self._on_failure = on_failure
        self._deadlines = deadlines

    async def fire(
        self, entries: tuple[HookEntry, ...], ctx: HookContext, path: str
    ) -> HookContext:
        """Call every entry that matches ``path``, in order; stop early once one aborts."""
        for bound, patterns in entries:
            if patterns is not None and not path_matches(patterns, path):
                continue
            if bound.record.state is not _ACTIVE:
                continue
            try:
                if bound.is_async:
                    await self._bounded(bound.hook.handler(ctx))  # type: ignore[arg-type]
                else:
                    outcome = bound.hook.handler(ctx)
                    if outcome is not None and inspect.isawaitable(outcome):
                        # a sync hook cannot be interrupted, so only what it returns to
                        # await gets a deadline
                        await self._bounded(outcome)
            except Exception as exc:  # isolate: one bad hook must not break the request
                self._failed(bound, ctx, exc)
                continue
            if ctx.aborted is not None:
                break
        return ctx

    async def _bounded(self, outcome: Awaitable[None]) -> None:
        """Await ``outcome`` within the hook timeout; ``TimeoutError`` when it overran."""
        watch = self._deadlines.watch()
        deadline = watch.open(self._timeout_s)
        try:
            with deadline:
                await outcome
        finally:
            watch.close(deadline)
        if deadline.cancelled_caught:
            raise TimeoutError(f"hook overran {self._timeout_s}s")

    def _failed(self, bound: BoundHook, ctx: HookContext, exc: Exception) -> None:
        reason = (
            f"timed out after {self._timeout_s}s"
            if isinstance(exc, TimeoutError)
            else f"raised {type(exc).__name__}: {exc}"
        )
        log.error(
            "hook %r (%s) of extension %r %s",
            bound.hook.name,
            ctx.type.value,
            bound.extension,
            reason,
            exc_info=not isinstance(exc, TimeoutError),
            extra={"extension": bound.extension, "hook": bound.hook.name},
        )
        self._on_failure(bound.extension, f"hook {bound.hook.name!r} {reason}")
