"""FI — fault isolation: the harness injects faults and watches the host survive.

Faults are injected by the worker into the extension *instance* (every handler
raises or hangs, every hook raises, or initialize raises after running), so a
healthy extension can be shown to fail safely, and an extension that hides or
spreads failures is caught. Hangs and event-loop blocking are judged from the
parent: a companion is pinged while the request under test is in flight.
"""

from __future__ import annotations

from typing import Any

from dufflebag_harness.conformance._faults_timing import Overlap, overlapped
from dufflebag_harness.conformance._probing import (
    core_differences,
    details,
    require_loaded,
    set_enabled,
    state,
)
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import Call, calls, route_table
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed, HostHandle


def _callable_routes(host: HostHandle, name: str) -> list[Call]:
    """The extension's requests the host lets a seeded user through: a fault must be met
    in the handler, not answered by the host's gate."""
    return calls(route_table(host, name))


def _ping(host: HostHandle, other: str) -> int:
    return host.request("GET", f"/ext/{other}/ping").status_code


@check(id="FI-01", title="A handler exception becomes a 500 and the host keeps serving",
       requires=("REQ-6.1", "REQ-6.4"), severity=REQUIRED)
def exception_isolated(ctx: CheckContext) -> None:
    """Let exceptions reach the host: don't turn 5xx into 2xx in middleware or hooks
    (that hides failures from the platform and from other extensions' owners)."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other],
                    faults={ctx.extension: "handler_exception", other: "handler_exception"},
                    options={"failure_threshold": 1000})
    problems: list[dict[str, Any]] = []
    targets = [*_callable_routes(host, ctx.extension), Call("GET", f"/ext/{other}/ping")]
    for call in targets:
        r = call.send(host)
        body = r.text[:300]
        if r.status_code != 500 or "extension error" not in body:
            problems.append({"request": call.label, "status": r.status_code,
                             "body": body})
    healthy = ctx.host(extensions=[ctx.extension, other])
    if _ping(healthy, other) != 200 or healthy.request("GET", "/healthz").status_code != 200:
        problems.append({"request": "companion/core after faults", "status": "not served"})
    if problems:
        raise CheckFailed(f"{len(problems)} injected handler exception(s) were not answered "
                          f"500 'extension error' (e.g. {problems[0]['request']} → "
                          f"{problems[0]['status']})", {"requests": problems})


@check(id="FI-02", title="Repeated failures auto-disable the extension; an admin re-enables it",
       requires=("REQ-6.3", "REQ-10.3"), severity=REQUIRED)
def repeated_failures_disable(ctx: CheckContext) -> None:
    """Don't interfere with the host's failure accounting (no retries of failed
    handlers, no patching of the host)."""
    [other] = ctx.companions(1)
    threshold = 3
    host = ctx.host(extensions=[ctx.extension, other],
                    faults={ctx.extension: "handler_exception"},
                    options={"failure_threshold": threshold, "failure_window_s": 60.0})
    targets = _callable_routes(host, ctx.extension)
    if not targets:
        raise CheckFailed("the extension has no route the harness can call to inject faults")
    statuses = [targets[0].send(host).status_code for _ in range(threshold + 2)]
    st = state(host, ctx.extension)
    after = targets[0].send(host).status_code
    evidence = {"statuses": statuses, "state": st, "after": after,
                "companion": _ping(host, other)}
    if st != "auto_disabled":
        raise CheckFailed(f"after {threshold + 2} failures the extension is {st!r}, "
                          "not auto_disabled", evidence)
    if after != 404 or evidence["companion"] != 200:
        raise CheckFailed("auto-disabled extension still answers, or the host stopped serving "
                          "others", evidence)
    set_enabled(host, ctx.extension, True)
    if state(host, ctx.extension) != "active":
        raise CheckFailed("an admin could not re-enable the extension", evidence)


@check(id="FI-03", title="A failing initialize leaves the host serving and the error visible",
       requires=("REQ-6.2", "REQ-6.4", "REQ-8.3"), severity=REQUIRED)
def failed_initialize_isolated(ctx: CheckContext) -> None:
    """Change nothing global in initialize (no monkeypatching, no global handlers):
    if loading fails after it, the host must be exactly as before."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other],
                    faults={ctx.extension: "initialize_exception"})
    problems: list[str] = []
    if ctx.extension not in host.load_errors:
        problems.append("the host reported no load error for the failed initialize")
    info = details(host, ctx.extension)
    if "fail" not in str(info.get("state", "")):
        problems.append(f"management API shows state {info.get('state')!r}, not failed")
    if not (info.get("load_error") or info.get("error")):
        problems.append("management API shows no error text")
    if _ping(host, other) != 200:
        problems.append(f"companion {other} is not served")
    for diff in core_differences(host, ctx.bare_host(extensions=[other])):
        problems.append(f"{diff['request']} differs from a host without the extension")
    for call in routes_or_empty(host, ctx.extension):
        r = call.send(host)
        if r.status_code != 404:
            problems.append(f"{call.label} answers {r.status_code} although not loaded")
    if problems:
        raise CheckFailed("; ".join(problems), {"problems": problems, "details": info})


def routes_or_empty(host: HostHandle, name: str) -> list[Call]:
    try:
        return _callable_routes(host, name)
    except CheckFailed:
        return []


#: Longest a neighbour may wait while a request is in flight (FI-05, FI-06): no block over this.
LAG_LIMIT_S = 0.25
#: Request timeout of hosts in FI-05 (seconds): a hang must become a 504 after it.
HANG_TIMEOUT_S = 1.0
#: Times a lag over the limit is measured again before it counts (the machine may be busy).
LAG_RETRIES = 1


def _neighbour_requests(other: str) -> list[Call]:
    """Requests to the core and a companion that no extension's hook may break."""
    return [
        Call("GET", "/healthz"),
        Call("GET", "/api/v1/me", "user"),
        Call("POST", "/api/v1/auth/login", json={"username": "nobody_here",
                                                 "password": "wrong-pw-1"}),
        Call("GET", f"/ext/{other}/ping"),
        Call("POST", f"/ext/{other}/items", "user", {"value": "fi"}),
    ]


@check(id="FI-04", title="A failing hook is isolated: requests still succeed, others served",
       requires=("REQ-6.1", "REQ-4.1"), severity=REQUIRED)
def hook_failure_isolated(ctx: CheckContext) -> None:
    """Write hooks so the request works without them: the host skips a hook that raises or
    times out, so nothing else (middleware, handlers) may depend on state a hook sets."""
    [other] = ctx.companions(1)
    normal = ctx.host(extensions=[ctx.extension, other])
    require_loaded(normal, ctx.extension)
    hooks = details(normal, ctx.extension).get("hooks") or []
    ctx.figure("hooks", len(hooks))
    if not hooks:
        return
    faulty = ctx.host(extensions=[ctx.extension, other],
                      faults={ctx.extension: "hook_exception"},
                      options={"failure_threshold": 1000})
    broken = []
    for call in [*_callable_routes(normal, ctx.extension), *_neighbour_requests(other)]:
        a, b = call.send(normal), call.send(faulty)
        if b.status_code >= 500 and a.status_code < 500:
            broken.append({"request": call.label, "as": call.role, "normally": a.status_code,
                           "with_failing_hooks": b.status_code, "body": b.text[:200]})
    if broken:
        raise CheckFailed(
            f"with the extension's hooks failing, {len(broken)} request(s) failed too "
            f"(e.g. {broken[0]['request']} → {broken[0]['with_failing_hooks']})",
            {"requests": broken, "hooks": hooks},
        )


def _lagging(host: HostHandle, target: Call, ping: str, timeout_s: float) -> Overlap:
    """Measure; when a neighbour waited too long, measure again before believing it."""
    result = overlapped(host, target, ping, timeout_s=timeout_s)
    for _ in range(LAG_RETRIES):
        if result.worst_ping_s <= LAG_LIMIT_S:
            break
        again = overlapped(host, target, ping, timeout_s=timeout_s)
        if again.worst_ping_s < result.worst_ping_s:
            result = again
    return result


@check(id="FI-05", title="A handler that awaits forever gets a 504 and starves no one",
       requires=("REQ-6.1", "REQ-10.2"), severity=REQUIRED, exclusive=True,
       profiles=("full",))
def hang_times_out(ctx: CheckContext) -> None:
    """Let the host's timeout cancel a request: don't catch CancelledError (or
    BaseException) in middleware, and never hold a lock, semaphore or connection shared by
    all requests across `await app(...)`."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other], faults={ctx.extension: "handler_hang"},
                    options={"request_timeout_s": HANG_TIMEOUT_S, "failure_threshold": 1000})
    require_loaded(host, ctx.extension)
    targets = _callable_routes(host, ctx.extension)[:2]
    ctx.figure("hang_targets", len(targets))
    problems: list[dict[str, Any]] = []
    for target in targets:
        seen = _lagging(host, target, f"/ext/{other}/ping", HANG_TIMEOUT_S + 10)
        late = seen.status != 504 or seen.elapsed_s > HANG_TIMEOUT_S + 3
        if late or seen.worst_ping_s > LAG_LIMIT_S or seen.failed_pings:
            problems.append(seen.evidence())
            break  # one contained-hang failure is the verdict; more only cost seconds
    if _ping(host, other) != 200:
        problems.append({"request": f"GET /ext/{other}/ping after the hangs", "status": "not 200"})
    if problems:
        p = problems[0]
        raise CheckFailed(
            f"a hanging handler was not contained: {p['request']} → {p.get('status')} after "
            f"{p.get('elapsed_ms')} ms (timeout {HANG_TIMEOUT_S:.0f} s), neighbour waited up to "
            f"{p.get('worst_ping_ms')} ms (limit {LAG_LIMIT_S * 1000:.0f} ms)",
            {"requests": problems},
        )


@check(id="FI-06", title="Handlers never block the event loop",
       requires=("REQ-6.1", "REQ-10.2"), severity=REQUIRED, exclusive=True)
def no_loop_blocking(ctx: CheckContext) -> None:
    """Never do blocking work in an `async def` handler (time.sleep, sync HTTP or database
    clients, heavy CPU such as password hashing): await async APIs, or register the
    handler as a plain `def` — sync handlers run in a bounded thread pool."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other])
    require_loaded(host, ctx.extension)
    worst: list[dict[str, Any]] = []
    blocked: list[dict[str, Any]] = []
    for target in _callable_routes(host, ctx.extension):
        seen = _lagging(host, target, f"/ext/{other}/ping", 30.0)
        worst.append(seen.evidence())
        if seen.worst_ping_s > LAG_LIMIT_S:
            blocked.append(seen.evidence())
            break  # one blocking route is the verdict; measuring the rest only costs seconds
    ctx.figure("loop_lag_ms", max((w["worst_ping_ms"] for w in worst), default=0.0))
    if blocked:
        b = blocked[0]
        raise CheckFailed(
            f"while {b['request']} was in flight another extension waited {b['worst_ping_ms']} ms "
            f"for an answer (limit {LAG_LIMIT_S * 1000:.0f} ms): the handler blocks the event loop",
            {"blocked": blocked, "measured": worst},
        )
