"""PF — performance: what the extension costs the platform, under load and over time.

Everything here is measured by the parent over loopback; the worker (which runs
the extension) only starts hosts and, for memory, collects garbage and names
its pid so the parent can read the resident set itself.

Overhead is the difference between two hosts that differ only by the
extension (both carry the same four companions, so "5 extensions" is the
setting the platform's success criterion names), timed with requests that
alternate between them, in several rounds whose median decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from dufflebag_harness.conformance._baseline import answered_alone, require_working_alone
from dufflebag_harness.conformance._load_runner import (
    LoadResult,
    LoadTarget,
    load_targets,
    preflight,
    run_load,
)
from dufflebag_harness.conformance._perf_client import TimedClient, alternate, require_same_status
from dufflebag_harness.conformance._perf_memory import MemoryWatch
from dufflebag_harness.conformance._perf_stats import (
    GrowthLimits,
    added,
    judge_growth,
    latency_summary,
    median_of_rounds,
)
from dufflebag_harness.conformance._perf_targets import (
    core_target,
    neighbour_target,
    own_get_targets,
)
from dufflebag_harness.conformance._probing import require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import (
    ADVISORY,
    REQUIRED,
    CheckContext,
    CheckFailed,
    CheckSkipped,
    HostHandle,
)

#: Required: what the extension adds to the platform's requests, at the 95th percentile.
OVERHEAD_LIMIT_MS = 5.0
#: Advisory: how much slower than a trivial extension route its own GET routes may be.
OWN_ROUTE_LIMIT_MS = 10.0
#: Required: resident memory (after gc) retained per request that counts as a leak.
MEMORY_LIMITS = GrowthLimits(kb_per_request=8.0, min_growth_mb=4.0, late_share=0.25)
#: Share of the memory run treated as warm-up (caches filling, pools opening).
WARMUP_SHARE = 0.25
#: Companions in every performance host (with the extension: five, as in SC-PERF).
NEIGHBOURS = 4


@dataclass(frozen=True)
class Plan:
    """How much to measure in a profile. ``quick`` is smaller, never laxer."""

    rounds: int
    pairs: int
    warmup: int
    users: int
    #: How long the one load run lasts (PF-03 judges its answers, PF-04 its memory).
    load_s: float


PLANS = {
    "quick": Plan(rounds=5, pairs=60, warmup=30, users=5, load_s=4.0),
    "full": Plan(rounds=7, pairs=200, warmup=60, users=10, load_s=10.0),
}


def _plan(ctx: CheckContext) -> Plan:
    return PLANS.get(ctx.profile, PLANS["full"])


def _own_route_pairs(plan: Plan) -> int:
    """PF-02's pairs per round and route: half of PF-01's. Its limit is twice PF-01's
    and it is advisory, and it times every own route: the full count would make it the
    longest check that must run alone."""
    return max(60, plan.pairs // 2)


def _median_decided(rounds: dict[str, list[dict[str, float]]], planned: int) -> bool:
    """True once more than half of the planned rounds of some route are over the limit:
    the median is then over it whatever the remaining rounds say (a slow extension
    need not be timed to the end)."""
    return any(sum(r["p95"] >= OVERHEAD_LIMIT_MS for r in done) > planned // 2
               for done in rounds.values())


@check(id="PF-01", title="The extension adds under 5 ms (p95) to the platform's requests",
       requires=("SC-PERF", "REQ-1.4", "REQ-4.1", "REQ-10.1"), severity=REQUIRED,
       exclusive=True, blocked_by=("LC-01", "LC-03", "FI-06"), profiles=("full",))
def overhead_on_platform(ctx: CheckContext) -> None:
    """Keep global middleware and hooks cheap: they run on every request of the platform.
    Do slow work (I/O, hashing, serialization) only on your own paths, off the
    request path (a background task) or once at start."""
    plan = _plan(ctx)
    others = ctx.companions(NEIGHBOURS)
    bare = ctx.host(extensions=others)
    host = ctx.host(extensions=[ctx.extension, *others])
    require_loaded(host, ctx.extension)
    targets = [(t, t) for t in (core_target(), neighbour_target(others[0]))]
    with_ext, without = TimedClient(host), TimedClient(bare)
    try:
        require_same_status(alternate(with_ext, without, targets, plan.warmup),
                            "extension's", "bare")
        rounds: dict[str, list[dict[str, float]]] = {t.label: [] for t, _ in targets}
        absolute: dict[str, list[dict[str, float]]] = {t.label: [] for t, _ in targets}
        for _ in range(plan.rounds):
            run = alternate(with_ext, without, targets, plan.pairs)
            require_same_status(run, "extension's", "bare")
            for label in rounds:
                a, b = latency_summary(run.a[label]), latency_summary(run.b[label])
                rounds[label].append(added(a, b))
                absolute[label].append({**{f"with_{k}": v for k, v in a.items()},
                                        **{f"without_{k}": v for k, v in b.items()}})
            if _median_decided(rounds, plan.rounds):
                break
    finally:
        with_ext.close()
        without.close()
    per_route = {label: {"added_ms": median_of_rounds(rounds[label]),
                         "latency_ms": median_of_rounds(absolute[label])} for label in rounds}
    worst_label = max(per_route, key=lambda k: per_route[k]["added_ms"]["p95"])
    worst = per_route[worst_label]["added_ms"]["p95"]
    done = len(next(iter(rounds.values())))
    figure = {"limit_p95_ms": OVERHEAD_LIMIT_MS, "added_p95_ms": worst, "rounds": done,
              "samples_per_round": plan.pairs, "extensions_loaded": NEIGHBOURS + 1,
              "routes": per_route}
    ctx.figure("overhead", figure)
    if worst >= OVERHEAD_LIMIT_MS:
        raise CheckFailed(
            f"the extension adds {worst:.2f} ms at the 95th percentile to {worst_label} "
            f"(limit {OVERHEAD_LIMIT_MS:.0f} ms; median of {done} rounds)", figure)


@check(id="PF-02",
       title="The extension's own GET routes answer within 10 ms of a trivial route (p95)",
       requires=("REQ-10.1",), severity=ADVISORY,
       exclusive=True, blocked_by=("LC-01", "LC-03", "FI-06"), profiles=("full",))
def own_route_latency(ctx: CheckContext) -> None:
    """Answer your GET routes from indexed queries or caches; move heavy work off
    the request path. The baseline is another extension's trivial /ping."""
    plan = _plan(ctx)
    others = ctx.companions(NEIGHBOURS)
    bare = ctx.host(extensions=others)
    host = ctx.host(extensions=[ctx.extension, *others])
    require_loaded(host, ctx.extension)
    own = own_get_targets(host, ctx.extension)
    if not own:
        raise CheckSkipped("the extension has no GET route a seeded user can call")
    require_working_alone(answered_alone(host, own))
    floor = neighbour_target(others[0])
    targets = [(t, floor) for t in own]
    with_ext, without = TimedClient(host), TimedClient(bare)
    try:
        alternate(with_ext, without, targets, plan.warmup)
        rounds: dict[str, list[dict[str, float]]] = {t.label: [] for t in own}
        absolute: dict[str, list[dict[str, float]]] = {t.label: [] for t in own}
        statuses: dict[str, list[int]] = {}
        for _ in range(max(3, plan.rounds // 2)):
            run = alternate(with_ext, without, targets, _own_route_pairs(plan))
            for label in rounds:
                a = latency_summary(run.a[label])
                rounds[label].append(added(a, latency_summary(run.b[label])))
                absolute[label].append(a)
                statuses[label] = sorted({s for s, _ in run.statuses[label]})
    finally:
        with_ext.close()
        without.close()
    above = {label: median_of_rounds(rounds[label]) for label in rounds}
    per_route = {label: {"latency_ms": median_of_rounds(absolute[label]),
                         "above_trivial_ms": above[label], "statuses": statuses[label]}
                 for label in rounds}
    ctx.figure("own_routes_latency", {"limit_p95_ms": OWN_ROUTE_LIMIT_MS, "routes": per_route})
    errors = {k: v for k, v in statuses.items() if max(v) >= 500}
    if errors:
        raise CheckFailed(f"{len(errors)} route(s) answered server errors while timed",
                          {"statuses": errors})
    slow = {k: v["p95"] for k, v in above.items() if v["p95"] >= OWN_ROUTE_LIMIT_MS}
    if slow:
        label = max(slow, key=lambda k: slow[k])
        raise CheckFailed(f"{label} takes {slow[label]:.2f} ms longer than a trivial route at "
                          f"the 95th percentile (limit {OWN_ROUTE_LIMIT_MS:.0f} ms)",
                          {"slow": slow})

def _load_setup(ctx: CheckContext) -> tuple[HostHandle, list[LoadTarget]]:
    others = ctx.companions(NEIGHBOURS)
    # auto-disable off: every answer under load is then the extension's, not its absence
    host = ctx.host(extensions=[ctx.extension, *others], options={"failure_threshold": 0})
    require_loaded(host, ctx.extension)
    own = own_get_targets(host, ctx.extension)
    require_working_alone(answered_alone(host, own))
    targets = load_targets(own, core_target(), neighbour_target(others[0]))
    return host, preflight(host, targets)


@dataclass(frozen=True)
class LoadRun:
    """One run of load against a host with the extension and its neighbours, with the
    worker's memory sampled as it goes: PF-03 judges the answers, PF-04 the memory."""

    result: LoadResult
    watch: MemoryWatch
    duration_s: float


def _load_run(ctx: CheckContext) -> LoadRun:
    """The certification's load run (made by whichever of PF-03 and PF-04 comes first)."""
    def run() -> LoadRun:
        plan = _plan(ctx)
        host, targets = _load_setup(ctx)
        watch = MemoryWatch(ctx)
        watch.sample()  # before the load: shown, but outside the judged window
        result = run_load(host, targets, users=plan.users, duration_s=plan.load_s,
                          on_tick=watch.tick, tick_s=plan.load_s / 8)
        if result.requests:
            watch.sample()  # after: the last point of the trend
        return LoadRun(result, watch, plan.load_s)

    return ctx.once("load-run", run)


@check(id="PF-03", title="Under concurrent load every request is answered as when alone",
       requires=("REQ-6.1", "REQ-10.1"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"), profiles=("full",))
def load_without_failures(ctx: CheckContext) -> None:
    """Make handlers safe to run concurrently: no shared mutable state without a
    lock that waits, no "already running" errors, no resources opened per request
    and never closed. Every request under load must get the answer it gets alone."""
    plan = _plan(ctx)
    run = _load_run(ctx)
    result = run.result
    ctx.figure("load", result.figure())
    if result.requests == 0:
        raise CheckFailed("the load generator completed no request", result.figure())
    if result.failures:
        raise CheckFailed(
            f"{result.failures} of {result.requests} requests under load ({plan.users} "
            f"concurrent users, {run.duration_s:.0f} s) did not get their usual answer: "
            f"{result.first_error()}", result.figure())


@check(id="PF-04", title="Memory stays bounded under load (no growth trend after gc)",
       requires=("REQ-10.1", "REQ-10.2"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"),
       after=("PF-03",), profiles=("full",))
def memory_bounded(ctx: CheckContext) -> None:
    """Bound every cache and history you keep (size or age), key caches by
    something that repeats, and drop per-request data when the request ends."""
    run = _load_run(ctx)
    result, watch = run.result, run.watch
    if result.requests == 0:
        raise CheckFailed("the load generator completed no request", result.figure())
    window = watch.window(WARMUP_SHARE)
    if len(window) < 4:
        raise CheckFailed(f"only {len(window)} memory samples could be taken under load",
                          watch.figure())
    in_window = round(result.requests * (1 - WARMUP_SHARE))  # load is steady: pro rata
    verdict = judge_growth([(s.at_s, s.rss_mb) for s in window], in_window, MEMORY_LIMITS)
    limits = MEMORY_LIMITS
    figure = {**watch.figure(), "growth_mb": verdict.growth_mb,
              "late_growth_mb": verdict.late_growth_mb, "requests_in_window": in_window,
              "kb_per_request": verdict.kb_per_request,
              "limits": {"kb_per_request": limits.kb_per_request,
                         "min_growth_mb": limits.min_growth_mb,
                         "late_share": limits.late_share},
              "load": {k: result.figure()[k] for k in ("users", "requests", "failures", "rps")}}
    ctx.figure("memory", figure)
    if verdict.leaking:
        raise CheckFailed(verdict.reason, figure)
