"""PE — permissions and quotas: the host's limits hold for everything the extension serves.

The quotas are the extension's own declarations (``[quotas]``); a declared 0
means unlimited, which is a declaration, not a violation. What these checks
catch is an extension that defeats the host's enforcement: answering from a
``pre_request`` hook or from middleware on unregistered paths (never reaching
the per-route guard), finishing work in background tasks after the response,
or shielding its handlers from the host's timeout. Concurrency and timeouts
need slow handlers, so the worker wraps the extension's handlers to wait first
(``quota.slow``) and records how many ran at once and whether each was
cancelled; quotas too large to exceed cheaply are tightened in the running
host (the evidence says so). "Used ⊆ declared" for capabilities is IS-10;
here is its advisory mirror, declared but unused (PE-02).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from dufflebag_harness.conformance._probing import require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import Call, calls, route_table
from dufflebag_harness.conformance._security_capabilities import unused
from dufflebag_harness.conformance._security_exercise import host_id, monitor_usage
from dufflebag_harness.conformance._types import (
    ADVISORY,
    REQUIRED,
    CheckContext,
    CheckFailed,
    HostHandle,
)

#: Largest requests/s tested as declared (larger ones are tightened to this).
RATE_CAP = 20
#: Threads sending the rate-limit burst (fast enough to outrun the limit on a slow machine).
RATE_SENDERS = 6
#: Largest concurrency limit tested as declared.
CONCURRENCY_CAP = 8
#: How long a slowed handler holds its slot (concurrency check).
HOLD_S = 1.5
#: The host-wide request timeout the timeout check runs with (quotas may only tighten it).
TIMEOUT_S = 1.0
#: How late a 504 may come after the timeout on a noisy machine.
TIMEOUT_SLACK_S = 2.0
#: How much longer than the timeout a slowed handler waits (well past the slack).
TIMEOUT_HOLD_EXTRA_S = 3.0
_UNREGISTERED = "dbh-unregistered-probe"


def _status(host: HostHandle, target: Call) -> tuple[int, float]:
    t0 = time.monotonic()
    try:
        status = target.send(host).status_code
    except Exception:
        status = 0
    return status, time.monotonic() - t0


def _burst(host: HostHandle, targets: list[Call]) -> list[tuple[int, float]]:
    """Send every target at the same moment (one thread each); statuses and durations."""
    gate = threading.Barrier(len(targets))

    def one(target: Call) -> tuple[int, float]:
        gate.wait(timeout=10)
        return _status(host, target)

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return list(pool.map(one, targets))


def _tighten(ctx: CheckContext, host: HostHandle, **quotas: int) -> None:
    ctx.probe("quota.set", host_id=host_id(host), extension=ctx.extension, **quotas)


def _limited_host(ctx: CheckContext, declared: int, figure: str) -> HostHandle | None:
    """A host running the extension, to test a declared limit; ``None`` if it declared 0.

    A declared 0 means unlimited: that is a declaration, not a violation, so the
    figure records it and the check passes without starting a host.
    """
    if declared <= 0:
        ctx.figure(figure, "unlimited (declared)")
        return None
    host = ctx.host()
    require_loaded(host, ctx.extension)
    return host


@check(id="PE-01", title="The declared rate limit holds for everything served under the prefix",
       requires=("REQ-10.2", "REQ-10.3"), severity=REQUIRED,
       fix="Let every request reach the host's per-route guard: don't answer requests from "
           "pre_request hooks or from middleware on paths you did not register (e.g. a "
           "response cache), and don't serve your API from your own server or thread.")
def rate_limit_holds(ctx: CheckContext) -> None:
    """Requests beyond quotas.requests_per_second get 429, whoever would have answered them."""
    declared = ctx.manifest.quotas.requests_per_second
    rate = min(declared, RATE_CAP)
    host = _limited_host(ctx, declared, "rate_limit")
    if host is None:
        return
    if rate != declared:
        _tighten(ctx, host, requests_per_second=rate)
    targets = calls(route_table(host, ctx.extension))
    targets.append(Call("GET", f"/ext/{ctx.extension}/{_UNREGISTERED}", "user"))
    count = 4 * rate + 8
    burst = [targets[i % len(targets)] for i in range(count)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=RATE_SENDERS) as pool:
        statuses = list(pool.map(lambda t: _status(host, t)[0], burst))
    elapsed = time.monotonic() - t0
    served = [f"{c.label} → {s}" for c, s in zip(burst, statuses, strict=True)
              if s and s != 429 and not (c.path.endswith(_UNREGISTERED) and s in (404, 405))]
    limited = statuses.count(429)
    allowance = max(1.0, rate) + rate * elapsed + 2
    evidence = {"declared_rps": declared, "tested_rps": rate, "sent": count,
                "served": len(served), "limited_429": limited, "elapsed_s": round(elapsed, 3),
                "allowance": round(allowance, 1), "examples": served[-10:]}
    ctx.figure("rate_limit", {k: evidence[k] for k in ("tested_rps", "sent", "served",
                                                        "limited_429", "elapsed_s")})
    if len(served) > allowance:
        raise CheckFailed(f"{len(served)} of {count} requests in {elapsed:.2f} s were served at "
                          f"a limit of {rate}/s (at most {allowance:.0f} may pass)", evidence)


@check(id="PE-02", title="Declared capabilities are used (declared but unused)",
       requires=("REQ-1.3",), severity=ADVISORY,
       fix="Remove capabilities from extension.toml that the extension does not need: the "
           "marketplace shows them to users. (Observed during the harness's requests only.)")
def declared_capabilities_used(ctx: CheckContext) -> None:
    """Every declared network pattern, filesystem prefix and subprocess grant was needed."""
    caps = ctx.manifest.capabilities
    if not (caps.network or caps.filesystem or caps.subprocess):
        return
    report, requests = monitor_usage(ctx)
    extra = unused([*report.get("load", []), *report.get("window_events", [])], caps)
    if extra:
        raise CheckFailed(f"declared but not used while the harness exercised it: "
                          f"{', '.join(extra)}", {"unused": extra, "requests": requests})


@check(id="PE-03", title="The concurrency limit holds: excess requests get 503",
       requires=("REQ-10.2", "REQ-10.1"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"),  # a burst at once: a blocked loop serializes it
       fix="Do the work inside the request: don't answer early and continue in a "
           "background task (the host can only count what is in flight), and don't answer "
           "requests from hooks before the host's guard.", profiles=("full",))
def concurrency_limit_holds(ctx: CheckContext) -> None:
    """With slow handlers, at most quotas.concurrent_requests run at once; the rest get 503."""
    declared = ctx.manifest.quotas.concurrent_requests
    host = _limited_host(ctx, declared, "concurrency_limit")
    if host is None:
        return
    targets = calls(route_table(host, ctx.extension))
    if not targets:
        ctx.figure("concurrency_limit", "no routes to hold")
        return
    limit = min(declared, CONCURRENCY_CAP)
    _tighten(ctx, host, concurrent_requests=limit, requests_per_second=0)
    hid = host_id(host)
    ctx.probe("quota.slow", host_id=hid, extension=ctx.extension, hold_s=HOLD_S)
    burst = [targets[i % len(targets)] for i in range(limit + 4)]
    results = _burst(host, burst)
    time.sleep(0.2)
    handled = ctx.probe("quota.calls", host_id=hid, extension=ctx.extension)
    statuses = [s for s, _ in results]
    evidence = {"declared": declared, "tested_limit": limit, "sent_at_once": len(burst),
                "statuses": statuses, "handlers_at_once": handled["max_active"],
                "requests": sorted({c.label for c in burst})}
    ctx.figure("concurrency_limit", {"tested_limit": limit, "sent_at_once": len(burst),
                                     "refused_503": statuses.count(503),
                                     "handlers_at_once": handled["max_active"]})
    if handled["max_active"] > limit:
        raise CheckFailed(f"{handled['max_active']} handlers ran at once at a limit of {limit} "
                          "(work continued outside the host's count)", evidence)
    if 503 not in statuses:
        raise CheckFailed(f"none of {len(burst)} simultaneous requests was refused with 503 at "
                          f"a limit of {limit}", evidence)


@check(id="PE-04", title="The request timeout holds: slow requests end in 504 and stop",
       requires=("REQ-10.2", "REQ-6.1"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"),  # no timeout fires while the loop is blocked
       fix="Let the host cancel a request that runs too long: don't shield handlers from "
           "cancellation, swallow CancelledError, or finish requests in background tasks.",
       profiles=("full",))
def timeout_holds(ctx: CheckContext) -> None:
    """A handler slower than the timeout is answered 504 on time and does not run on."""
    host = ctx.host(options={"request_timeout_s": TIMEOUT_S})
    require_loaded(host, ctx.extension)
    targets = calls(route_table(host, ctx.extension))[:CONCURRENCY_CAP]
    if not targets:
        ctx.figure("request_timeout", "no routes to slow down")
        return
    quota = ctx.manifest.quotas.request_timeout_s
    timeout = min(TIMEOUT_S, quota) if quota > 0 else TIMEOUT_S
    hid = host_id(host)
    _tighten(ctx, host, requests_per_second=0, concurrent_requests=0)
    hold = timeout + TIMEOUT_HOLD_EXTRA_S
    ctx.probe("quota.slow", host_id=hid, extension=ctx.extension, hold_s=hold)
    t0 = time.monotonic()
    results = _burst(host, targets)
    time.sleep(max(0.0, hold + 0.5 - (time.monotonic() - t0)))
    handled = ctx.probe("quota.calls", host_id=hid, extension=ctx.extension)
    late = [{"request": c.label, "status": s, "after_s": round(d, 2)}
            for c, (s, d) in zip(targets, results, strict=True)
            if s != 504 or d > timeout + TIMEOUT_SLACK_S]
    ran_on = [c for c in handled["calls"] if c["outcome"] == "completed"]
    evidence = {"timeout_s": timeout, "handler_hold_s": hold, "late_or_not_504": late,
                "calls": handled["calls"][:20]}
    ctx.figure("request_timeout", {"timeout_s": timeout, "requests": len(targets),
                                   "answered_504": [s for s, _ in results].count(504),
                                   "cancelled": sum(c["outcome"] == "cancelled"
                                                    for c in handled["calls"])})
    if late:
        raise CheckFailed(f"{len(late)} request(s) slower than the {timeout:g} s timeout were "
                          f"not answered 504 on time (e.g. {late[0]['request']} → "
                          f"{late[0]['status']} after {late[0]['after_s']} s)", evidence)
    if ran_on:
        raise CheckFailed(f"{len(ran_on)} handler(s) ran to completion past the timeout "
                          "instead of being cancelled", evidence)


#: How many rounds of every route PE-05 sends before it reads the memory figures.
MEMORY_ROUNDS = 20


@check(id="PE-05", title="Resident memory stays within the declared memory_mb",
       requires=("REQ-10.2",), severity=REQUIRED,
       blocked_by=("LC-01", "FI-06"),  # every route exercised, each waiting out the block
       fix="Keep what the extension holds in memory within [quotas].memory_mb (default "
           "256): load large tables lazily or from the database, bound caches, and never "
           "hold data per request beyond the response. If the extension really needs more, "
           "declare it, so the marketplace can show it.", profiles=("full",))
def memory_within_quota(ctx: CheckContext) -> None:
    """The parent reads the resident memory of everything in the worker's sandbox from
    ``/proc`` (the worker is never asked): what the extension's worker grew by since
    before its code was imported, less what the reference worker (the same harness and
    companions, without the extension) grew by, after every route was exercised. The
    sandbox's hard cap (memory_mb plus the harness's own allowance) turns a runaway
    allocation into a MemoryError, which is reported here as well."""
    declared = ctx.manifest.quotas.memory_mb
    try:
        host = ctx.host()
    except Exception as exc:  # the worker reports an import that hit the cap as data
        if "MemoryError" in str(exc):
            raise CheckFailed("the extension hit the sandbox's memory cap "
                              f"({declared} MB declared)", {"error": str(exc)[:500]}) from None
        raise
    require_loaded(host, ctx.extension)
    ctx.bare_host(extensions=ctx.companions(1))  # the reference worker, measured alike
    targets = calls(route_table(host, ctx.extension))
    for _ in range(MEMORY_ROUNDS):
        for target in targets:
            _status(host, target)
    seen = ctx.outside()
    worker, reference = seen["worker"], seen["reference"]
    grown = worker["peak_rss_mb"] - worker["rss_before_load_mb"]
    harness = 0.0
    if reference is not None:
        harness = max(0.0, reference["peak_rss_mb"] - reference["rss_before_load_mb"])
    used = round(grown - harness, 1)
    evidence = {"declared_mb": declared, "extension_mb": used,
                "worker_grew_mb": round(grown, 1), "harness_alone_grew_mb": round(harness, 1),
                "requests": len(targets) * MEMORY_ROUNDS, "processes": worker["processes"]}
    ctx.figure("memory_quota", {k: evidence[k] for k in
                                ("declared_mb", "extension_mb", "worker_grew_mb",
                                 "harness_alone_grew_mb")})
    if used > declared:
        raise CheckFailed(f"the extension held about {used:.0f} MB resident, over its declared "
                          f"memory_mb of {declared}", evidence)
