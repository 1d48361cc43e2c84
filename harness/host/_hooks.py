"""Hook registrations bound to their extension, in firing order, and the runner.

The order is fixed when the route table is built (lower priority first, then
extension name, then registration order), so firing is a walk over a tuple.
A hook that raises or overruns ``hook_timeout_s`` is logged with its
extension's name, counted as that extension's failure, and skipped: the
request goes on.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import anyio

from harness.host._paths import path_matches
from harness.sdk import Hook, HookContext, HookType

__all__ = ["BoundHook", "HookRunner", "order_hooks"]

log = logging.getLogger("dufflebag.host.hooks")


@dataclass(frozen=True)
class BoundHook:
    extension: str
    index: int  # registration order within the extension
    hook: Hook

    @property
    def sort_key(self) -> tuple[int, str, int]:
        return (self.hook.priority, self.extension, self.index)


def order_hooks(bound: Iterable[BoundHook]) -> Mapping[HookType, tuple[BoundHook, ...]]:
    """Group by type, each group in firing order."""
    grouped: dict[HookType, list[BoundHook]] = {t: [] for t in HookType}
    for item in bound:
        grouped[HookType(item.hook.type)].append(item)
    return {t: tuple(sorted(items, key=lambda b: b.sort_key)) for t, items in grouped.items()}


class HookRunner:
    """Runs one hook type's registrations against a context, isolating failures."""

    def __init__(
        self,
        *,
        timeout_s: float,
        is_active: Callable[[str], bool],
        on_failure: Callable[[str, str], None],
    ) -> None:
        self._timeout_s = timeout_s
        self._is_active = is_active
        self._on_failure = on_failure

    async def fire(
        self, hooks: tuple[BoundHook, ...], ctx: HookContext, path: str
    ) -> HookContext:
        """Call every matching hook in order; stop early once one aborts."""
        for bound in hooks:
            if not path_matches(bound.hook.paths, path) or not self._is_active(bound.extension):
                continue
            try:
                outcome = bound.hook.handler(ctx)
                if inspect.isawaitable(outcome):
                    # a sync hook cannot be interrupted, so only async ones get a deadline
                    with anyio.fail_after(self._timeout_s):
                        await outcome
            except Exception as exc:  # isolate: one bad hook must not break the request
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
                continue
            if ctx.aborted is not None:
                break
        return ctx
