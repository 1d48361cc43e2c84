"""Dependencies between extensions: who requires whom, whether versions fit, load order.

One planner for every place that resolves them:

* the host (:class:`~dufflebag_harness.inside.host.Host`) plans its start with
  :func:`plan_load`: an extension whose dependency is missing, has an
  incompatible version, was itself refused, or sits on a cycle is refused —
  with a message naming what to change. Everything else loads in dependency
  order (ties alphabetical), so start order is reproducible;
* the worker adds to a host what the named extensions require
  (:func:`with_requirements`);
* the certifying parent checks that an extension given with ``--with`` is a
  version the one under test accepts (:func:`unmet`), by the same rule the host
  applies.

Pure logic over names, versions and PEP 440 specifiers: it never sees
extension code, so both sides of the trust boundary import it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["LoadPlan", "Requirer", "Unmet", "plan_load", "unmet", "with_requirements"]


class Requirer(Protocol):
    """What the planner reads of an extension (SDK metadata and manifests both fit)."""

    @property
    def version(self) -> str: ...

    @property
    def dependencies(self) -> Mapping[str, str]: ...


class Unmet(enum.Enum):
    """Why a version does not satisfy a requirement."""

    SPECIFIER = "the requirement is not a valid version specifier (PEP 440)"
    VERSION = "the version is not a valid version"
    RANGE = "the version is outside the required range"


def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def unmet(spec_text: str, version: str) -> Unmet | None:
    """``None`` when ``version`` satisfies ``spec_text`` (pre-releases admitted)."""
    spec = _specifier(spec_text)
    if spec is None:
        return Unmet.SPECIFIER
    try:
        parsed = Version(version)
    except InvalidVersion:
        return Unmet.VERSION
    return None if spec.contains(parsed, prereleases=True) else Unmet.RANGE


@dataclass
class LoadPlan:
    order: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _problem(dep: str, spec_text: str, metas: Mapping[str, Requirer]) -> str:
    if _specifier(spec_text) is None:
        return f"dependency {dep!r}: {spec_text!r} is not a valid version specifier (PEP 440)"
    other = metas.get(dep)
    if other is None:
        return (
            f"requires extension {dep!r} ({spec_text or 'any version'}), which is not "
            f"registered; add {dep!r} to the host or drop the dependency"
        )
    why = unmet(spec_text, other.version)
    if why is Unmet.VERSION:
        return f"requires {dep!r}, whose version {other.version!r} is not a valid version"
    if why is Unmet.RANGE:
        return (
            f"requires {dep!r} {spec_text} but {dep!r} {other.version} is registered; "
            f"install a version of {dep!r} matching {spec_text} or relax the requirement"
        )
    return ""


def _find_cycle(start: str, edges: Mapping[str, list[str]], stuck: set[str]) -> list[str]:
    path: list[str] = []
    node = start
    while node not in path:
        path.append(node)
        node = next(d for d in edges[node] if d in stuck)
    cycle = path[path.index(node) :]
    first = cycle.index(min(cycle))
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]


def plan_load(metas: Mapping[str, Requirer]) -> LoadPlan:
    """Order ``metas`` by their dependencies; refuse what cannot load."""
    plan = LoadPlan()
    edges: dict[str, list[str]] = {}
    for name in sorted(metas):
        deps: list[str] = []
        for dep, spec_text in sorted(metas[name].dependencies.items()):
            problem = _problem(dep, spec_text, metas)
            if problem:
                plan.refused[name] = problem
                break
            deps.append(dep)
        edges[name] = deps

    placed: set[str] = set()
    while True:
        progress = True
        while progress:
            progress = False
            for name in sorted(set(metas) - placed - set(plan.refused)):
                bad = next((d for d in edges[name] if d in plan.refused), None)
                if bad is not None:
                    plan.refused[name] = f"depends on {bad!r}, which was refused"
                    progress = True
                elif all(d in placed for d in edges[name]):
                    plan.order.append(name)
                    placed.add(name)
                    progress = True
        stuck = set(metas) - placed - set(plan.refused)
        if not stuck:
            return plan
        cycle = _find_cycle(min(stuck), edges, stuck)
        text = " -> ".join(cycle)
        for member in cycle[:-1]:
            plan.refused[member] = f"dependency cycle: {text}"


def with_requirements(names: Sequence[str], requires: Mapping[str, Sequence[str]]) -> list[str]:
    """``names`` plus what they require among ``requires``' keys (transitively), each
    after what it requires; a cycle is cut, not refused (the host refuses it with
    a message when it plans its start).

    ``requires`` maps every available extension to the names it requires.
    """
    out: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in out or name in trail:
            return
        for dep in requires.get(name, ()):
            if dep in requires:
                visit(dep, (*trail, name))
        out.append(name)

    for name in names:
        visit(name, ())
    return out
