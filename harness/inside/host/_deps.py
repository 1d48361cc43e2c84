"""Dependency resolution between extensions: load order, refusals with hints.

An extension whose dependency is missing, has an incompatible version, was
itself refused, or sits on a cycle is refused — with a message naming what to
change. Everything else loads in dependency order (ties alphabetical), so
start order is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dufflebag_harness.sdk import Metadata

__all__ = ["LoadPlan", "plan_load"]


@dataclass
class LoadPlan:
    order: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _check_dependency(name: str, dep: str, spec_text: str, metas: Mapping[str, Metadata]) -> str:
    try:
        spec = SpecifierSet(spec_text)
    except InvalidSpecifier:
        return f"dependency {dep!r}: {spec_text!r} is not a valid version specifier (PEP 440)"
    other = metas.get(dep)
    if other is None:
        return (
            f"requires extension {dep!r} ({spec_text or 'any version'}), which is not "
            f"registered; add {dep!r} to the host or drop the dependency"
        )
    try:
        version = Version(other.version)
    except InvalidVersion:
        return f"requires {dep!r}, whose version {other.version!r} is not a valid version"
    if not spec.contains(version, prereleases=True):
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


def plan_load(metas: Mapping[str, Metadata]) -> LoadPlan:
    """Order ``metas`` by their dependencies; refuse what cannot load."""
    plan = LoadPlan()
    edges: dict[str, list[str]] = {}
    for name in sorted(metas):
        deps: list[str] = []
        for dep, spec_text in sorted(metas[name].dependencies.items()):
            problem = _check_dependency(name, dep, spec_text, metas)
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
