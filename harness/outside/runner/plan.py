"""Which (check, backend) pairs a run executes, and which it skips and why."""

from __future__ import annotations

import random
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
    # blockers run before what they block (a stable sort keeps ID or shuffled order
    # within a depth), so verdicts never depend on the order
    depth = _blocker_depths(registry)
    # within a depth, exclusive checks (timing) last: they run alone, once the lanes drain
    out.sort(key=lambda p: (depth.get(p.spec.id, 0), p.spec.exclusive))
    return out


def _blocker_depths(registry: Registry) -> dict[str, int]:
    """0 for checks nothing blocks, else 1 + the deepest of their blockers."""
    specs = registry.as_dict()
    depths: dict[str, int] = {}

    def depth(check_id: str, seen: frozenset[str]) -> int:
        if check_id in depths:
            return depths[check_id]
        blockers = [b for b in specs[check_id].blocked_by if b in specs and b not in seen]
        value = 1 + max((depth(b, seen | {check_id}) for b in blockers), default=-1)
        depths[check_id] = value
        return value

    for check_id in specs:
        depth(check_id, frozenset())
    return depths
