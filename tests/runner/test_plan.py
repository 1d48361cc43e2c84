"""Planning: blockers first in any order, --only and profiles recorded as such."""

from __future__ import annotations

from dufflebag_harness.conformance import load_checks
from dufflebag_harness.outside.runner.plan import plan_pairs


def _position(plan: list, check_id: str) -> int:  # type: ignore[type-arg]
    return next(i for i, p in enumerate(plan) if p.spec.id == check_id)


def test_blockers_run_before_what_they_block_in_any_order() -> None:
    registry = load_checks()
    for seed in (None, 1, 2, 3, 99):
        plan = plan_pairs(registry, profile="full", only=None, unavailable_backends={},
                          shuffle_seed=seed)
        for p in plan:
            for blocker in p.spec.blocked_by:
                if blocker in registry:
                    assert _position(plan, blocker) < _position(plan, p.spec.id), (seed, p.pair)


def test_shuffle_is_seeded() -> None:
    registry = load_checks()
    a = [p.pair for p in plan_pairs(registry, profile="full", only=None,
                                    unavailable_backends={}, shuffle_seed=4)]
    b = [p.pair for p in plan_pairs(registry, profile="full", only=None,
                                    unavailable_backends={}, shuffle_seed=4)]
    assert a == b
    assert sorted(a) == sorted(p.pair for p in plan_pairs(
        registry, profile="full", only=None, unavailable_backends={}))


def test_unavailable_backend_and_profile_become_skip_reasons() -> None:
    registry = load_checks()
    plan = plan_pairs(registry, profile="quick", only=["LC-01"],
                      unavailable_backends={"sqlite": "no sqlite here"})
    assert [(p.pair, p.skip_reason) for p in plan] == [("LC-01@sqlite", "no sqlite here")]
