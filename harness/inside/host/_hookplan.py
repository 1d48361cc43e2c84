"""Which hooks can fire on a route, resolved when the route table is built.

A hook's ``paths`` are matched against the request path. For most routes the
answer is known from the route's template alone: a static template *is* the
request path, and a template with parameters fixes the literal text before its
first parameter. Each route therefore keeps, per hook type, only the hooks that
can apply to it, and only those whose patterns the template leaves undecided
are still matched per request. A request to one extension's route does not
walk the hooks other extensions registered for their own paths.

The resolution holds for paths the template can produce. If something changed
``scope["path"]`` on the way (a middleware or hook rewriting it in place), the
path no longer fits the template and the host-wide lists, matched per request,
decide instead — exactly what they would have decided without resolution.

Building stays linear in the number of extensions: a hook whose patterns all
lie under one ``/ext/{name}/`` is only considered for that extension's routes
(:class:`HookIndex`), so each route looks at its own extension's hooks and the
unconfined ones, not at every hook of every extension.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, Mapping

from dufflebag_harness.inside.host._hooks import BoundHook, HookEntry
from dufflebag_harness.sdk import HookType

__all__ = ["HookIndex", "RouteHooks"]


class _Fit(enum.Enum):
    ALWAYS = "always"
    NEVER = "never"
    MAYBE = "maybe"


def _fit(patterns: tuple[str, ...] | None, literal: str, static: bool) -> _Fit:
    """How ``patterns`` relate to the paths that start with ``literal`` (``static``: equal it)."""
    if patterns is None:
        return _Fit.ALWAYS
    verdict = _Fit.NEVER
    for pattern in patterns:
        if pattern.endswith("*"):
            prefix = pattern[:-1]
            if literal.startswith(prefix):
                return _Fit.ALWAYS
            if not static and prefix.startswith(literal):
                verdict = _Fit.MAYBE
        elif static:
            if pattern == literal:
                return _Fit.ALWAYS
        elif pattern.startswith(literal):
            verdict = _Fit.MAYBE
    return verdict


def _every(hooks: tuple[BoundHook, ...]) -> tuple[HookEntry, ...]:
    return tuple((bound, bound.hook.paths) for bound in hooks)


def _extension_segment(text: str) -> str | None:
    """``name`` when ``text`` starts with ``/ext/{name}/``, else ``None``."""
    if not text.startswith("/ext/"):
        return None
    name, slash, _ = text[5:].partition("/")
    return name if slash else None


def _confined_to(patterns: tuple[str, ...] | None) -> str | None:
    """The one ``/ext/{name}/`` every path ``patterns`` select lies under, if there is one."""
    if not patterns:
        return None
    names = {_extension_segment(pattern) for pattern in patterns}
    if len(names) != 1:
        return None
    return names.pop()


class RouteHooks:
    """A route's hooks by type, for the paths its template produces.

    :meth:`select` is what a request calls: the entries to fire for one hook type
    on one path, in firing order (an empty tuple when none can apply).
    """

    __slots__ = ("_anchor", "_exact", "_fallback", "_plans")

    def __init__(
        self,
        plans: Mapping[HookType, tuple[HookEntry, ...]],
        *,
        anchor: str,
        exact: bool,
        fallback: RouteHooks | None,
    ) -> None:
        self._plans = {kind: entries for kind, entries in plans.items() if entries}
        self._anchor = anchor
        self._exact = exact
        self._fallback = self._plans if fallback is None else fallback._plans

    @classmethod
    def everywhere(cls, ordered: Mapping[HookType, tuple[BoundHook, ...]]) -> RouteHooks:
        """Every hook, matched per request: for requests no route answers and core callers."""
        plans = {kind: _every(hooks) for kind, hooks in ordered.items()}
        return cls(plans, anchor="", exact=False, fallback=None)

    @classmethod
    def for_template(
        cls,
        candidates: Mapping[HookType, Iterable[BoundHook]],
        template: str,
        everywhere: RouteHooks,
    ) -> RouteHooks:
        """The ``candidates`` that can apply to paths of ``template`` (a Starlette template)."""
        literal, brace, _ = template.partition("{")
        static = not brace
        plans: dict[HookType, tuple[HookEntry, ...]] = {}
        for kind, hooks in candidates.items():
            entries: list[HookEntry] = []
            for bound in hooks:
                fit = _fit(bound.hook.paths, literal, static)
                if fit is _Fit.ALWAYS:
                    entries.append((bound, None))
                elif fit is _Fit.MAYBE:
                    entries.append((bound, bound.hook.paths))
            plans[kind] = tuple(entries)
        return cls(plans, anchor=literal, exact=static, fallback=everywhere)

    def select(self, kind: HookType, path: str) -> tuple[HookEntry, ...]:
        """The entries of ``kind`` to fire on ``path`` (``()`` when none can apply)."""
        fits = path == self._anchor if self._exact else path.startswith(self._anchor)
        return (self._plans if fits else self._fallback).get(kind, ())


class HookIndex:
    """The active hooks of one route table, ready to be resolved route by route."""

    def __init__(self, ordered: Mapping[HookType, tuple[BoundHook, ...]]) -> None:
        self._ordered = ordered
        self.everywhere = RouteHooks.everywhere(ordered)
        self._unconfined: dict[HookType, list[BoundHook]] = {}
        self._confined: dict[str, dict[HookType, list[BoundHook]]] = {}
        for kind, hooks in ordered.items():
            self._unconfined[kind] = []
            for bound in hooks:
                name = _confined_to(bound.hook.paths)
                if name is None:
                    self._unconfined[kind].append(bound)
                else:
                    self._confined.setdefault(name, {}).setdefault(kind, []).append(bound)
        self._merged: dict[str, Mapping[HookType, list[BoundHook]]] = {}

    def _candidates(self, literal: str) -> Mapping[HookType, Iterable[BoundHook]]:
        """Hooks that may select paths starting with ``literal``, in firing order."""
        name = _extension_segment(literal)
        if name is None:
            if literal.startswith("/ext/") or "/ext/".startswith(literal):
                return self._ordered  # may reach into any extension's paths
            return self._unconfined  # e.g. /api/v1/...: no confined hook reaches there
        merged = self._merged.get(name)
        if merged is None:
            own = self._confined.get(name, {})
            merged = self._merged[name] = {
                kind: list(heapq.merge(own.get(kind, ()), unconfined, key=_sort_key))
                for kind, unconfined in self._unconfined.items()
            }
        return merged

    def route(self, template: str) -> RouteHooks:
        """The hooks that can apply to ``template``'s paths."""
        literal = template.partition("{")[0]
        return RouteHooks.for_template(self._candidates(literal), template, self.everywhere)


def _sort_key(bound: BoundHook) -> tuple[int, str, int]:
    return bound.sort_key
