"""Which (check, backend) pairs a run executes, and which it skips and why."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dufflebag_harness.conformance import CheckSpec, Registry, parse_pairs


@dataclass(frozen=True)
class PlannedPair:
    spec: CheckSpec
    backend: str
    skip_reason: str = ""

    @property
    def pair(self) -> str:
        return f"{self.spec.id}@{self.backend}"


def plan_pairs(
    registry: Registry,
    *,
    profile: str,
    only: Sequence[str] | None,
    unavailable_backends: dict[str, str],
    shuffle_seed: int | None = None,
) -> list[PlannedPair]:
    """Every catalog pair, in a stable order (or shuffled), with skip reasons.

    Pairs outside ``--only`` are not planned at all (the run can then never
    certify); pairs outside the profile (unless named by ``--only``) or on an
    unavailable backend are planned as skipped so the report shows them.
    """
    specs = registry.as_dict()
    selected = parse_pairs(only, specs) if only else None
    out: list[PlannedPair] = []
    for spec in sorted(registry, key=lambda s: s.id):
        for backend in spec.backends:
            pair = f"{spec.id}@{backend}"
            if selected is not None and pair not in selected:
                continue
            reason = ""
            # a check named with --only runs whatever the profile (which then sizes it)
            if selected is None and profile not in spec.profiles:
                reason = f"not run in profile {profile!r}"
            elif backend in unavailable_backends:
                reason = unavailable_backends[backend]
            out.append(PlannedPair(spec, backend, reason))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(out)
    return _ordered(registry, out)


def prerequisites(spec: CheckSpec) -> tuple[str, ...]:
    """The checks that must have finished before ``spec`` starts (on the same backend)."""
    return (*spec.blocked_by, *spec.after)


def _ordered(registry: Registry, pairs: list[PlannedPair]) -> list[PlannedPair]:
    """``pairs`` with every prerequisite before what waits for it, so verdicts never
    depend on the order (ID or shuffled order breaks ties).

    Among the pairs whose prerequisites are placed, first those others wait for (the
    gates open early), then the deepest (the long load and performance checks sit at
    the end of the longest chains: started early, they overlap the rest), then the ones
    that can share the lanes before the exclusive ones; among equals, a check that
    starts a worker of its own (``fresh_worker``, a second or more) before the others.
    The checks that judge the extension's test run (CV) come last: the run starts beside
    the first checks in a sandbox of its own, and a CV check placed early would hold a
    lane waiting for it.
    """
    depth = _blocker_depths(registry)
    gates = {b for s in registry for b in prerequisites(s)}
    index = {p.pair: i for i, p in enumerate(pairs)}
    left = Counter(p.spec.id for p in pairs)  # pairs of each check not placed yet
    remaining = list(pairs)
    out: list[PlannedPair] = []
    while remaining:
        ready = [p for p in remaining
                 if not any(left[b] for b in prerequisites(p.spec) if b != p.spec.id)]
        best = min(ready or remaining[:1],  # (a cycle: take the first)
                   key=lambda p: (p.spec.area == "CV", p.spec.id not in gates,
                                  -depth.get(p.spec.id, 0), not p.spec.fresh_worker,
                                  p.spec.exclusive, index[p.pair]))
        remaining.remove(best)
        left[best.spec.id] -= 1
        out.append(best)
    return out


def _blocker_depths(registry: Registry) -> dict[str, int]:
    """0 for checks that wait for nothing, else 1 + the deepest of their prerequisites."""
    specs = registry.as_dict()
    depths: dict[str, int] = {}

    def depth(check_id: str, seen: frozenset[str]) -> int:
        if check_id in depths:
            return depths[check_id]
        blockers = [b for b in prerequisites(specs[check_id]) if b in specs and b not in seen]
        value = 1 + max((depth(b, seen | {check_id}) for b in blockers), default=-1)
        depths[check_id] = value
        return value

    for check_id in specs:
        depth(check_id, frozenset())
    return depths
