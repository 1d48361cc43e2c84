"""Which (check, backend) pairs a run executes, and which it skips and why."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from conformance import CheckSpec, Registry, parse_pairs


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
    certify); pairs outside the profile or on an unavailable backend are
    planned as skipped so the report shows them.
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
            if profile not in spec.profiles:
                reason = f"not run in profile {profile!r}"
            elif backend in unavailable_backends:
                reason = unavailable_backends[backend]
            out.append(PlannedPair(spec, backend, reason))
    if shuffle_seed is not None:
        rng = random.Random(shuffle_seed)
        rng.shuffle(out)
        # blockers still run first: a stable partition keeps verdicts independent of order
        out.sort(key=lambda p: 0 if not p.spec.blocked_by and _is_blocker(p, out) else 1)
    return out


def _is_blocker(pair: PlannedPair, plan: Sequence[PlannedPair]) -> bool:
    return any(pair.spec.id in other.spec.blocked_by for other in plan)
