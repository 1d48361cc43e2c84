"""LC — lifecycle: metadata, host range, initialize/start/stop/health, restart,
nothing leaked after stop, dependencies resolve."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dufflebag_harness import HOST_API_VERSION
from dufflebag_harness.conformance._probing import details
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import (
    REQUIRED,
    CheckContext,
    CheckFailed,
    CheckSkipped,
    HostHandle,
)

#: Time limits for lifecycle calls (seconds); a slow ``initialize`` delays every start.
LIMITS = {"initialize": 5.0, "start": 5.0, "stop": 5.0, "health": 1.0}
#: How long after ``stop`` threads and tasks may take to finish before they count as leaked.
LEAK_SETTLE_S = 1.0
#: Pauses between the outside looks at the worker after ``stop()`` (seconds): a thread
#: started in between by a timer that re-arms itself is seen whatever its period, as
#: long as the period is shorter than the watch (1.2 s here, after the settle above).
LEAK_LOOKS_S = (0.0, 0.3, 0.3, 0.3, 0.3)


@check(id="LC-01", title="Metadata is valid and equals the manifest",
       requires=("REQ-1.1", "REQ-9.3"), severity=REQUIRED, blocked_by=())
def metadata_matches_manifest(ctx: CheckContext) -> None:
    """Make `metadata` in code and `extension.toml` say the same name, version, host range
    and dependencies; use a semantic version."""
    described = ctx.probe("describe", extension=ctx.extension)
    meta = described.get("metadata")
    if not isinstance(meta, dict):
        raise CheckFailed("the extension class has no `metadata` (dufflebag_harness.sdk.Metadata)")
    m = ctx.manifest
    expected: dict[str, Any] = {
        "name": m.name, "version": m.version, "host_api": m.host_api,
        "dependencies": dict(m.dependencies),
    }
    diffs = {
        key: {"manifest": want, "code": meta.get(key)}
        for key, want in expected.items() if meta.get(key) != want
    }
    if diffs:
        fields = ", ".join(sorted(diffs))
        raise CheckFailed(f"metadata in code differs from extension.toml: {fields}", diffs)
    try:
        Version(str(meta["version"]))
    except InvalidVersion:
        raise CheckFailed(f"version {meta['version']!r} is not a valid version") from None


@check(id="LC-02", title="Host-API range admits this host",
       requires=("REQ-9.1", "REQ-2.4"), severity=REQUIRED, blocked_by=())
def host_range_compatible(ctx: CheckContext) -> None:
    """Declare a `host_api` range that includes the host-API version you build against."""
    try:
        spec = SpecifierSet(ctx.manifest.host_api)
    except InvalidSpecifier:
        raise CheckFailed(f"host_api {ctx.manifest.host_api!r} is not a version range") from None
    if Version(HOST_API_VERSION) not in spec:
        raise CheckFailed(
            f"host_api {ctx.manifest.host_api!r} excludes host API {HOST_API_VERSION}",
            {"host_api": ctx.manifest.host_api, "host": HOST_API_VERSION},
        )


def _lifecycle(ctx: CheckContext) -> dict[str, Any]:
    return ctx.probe("lifecycle", extension=ctx.extension, timeout_s=max(LIMITS.values()))


@check(id="LC-03", title="Loads, starts and reports healthy within time limits",
       requires=("REQ-1.1", "REQ-6.2"), severity=REQUIRED, blocked_by=("LC-01",))
def lifecycle_within_limits(ctx: CheckContext) -> None:
    """Keep initialize/start/stop quick (seconds, not minutes); do long work in the
    background; raise nothing from initialize unless the extension truly cannot run."""
    # The parent times a host's start, a health request and the stop first, from outside
    # the worker: a start that is too slow fails there, once, without the worker's own
    # lifecycle run starting the extension twice more. The worker's run then says which
    # call raised, reported unhealthy or took too long by its own clock.
    seen, load_error = _timed_from_outside(ctx)
    ctx.figure("lifecycle_outside_ms", {k: round(v * 1000, 1) for k, v in seen.items()})
    over = _over_outside_limits(seen)
    if over:
        raise CheckFailed("seen from outside the worker, " + "; ".join(over),
                          {"outside_s": {k: round(v, 3) for k, v in seen.items()}})
    if load_error:
        raise CheckFailed(f"the extension did not load: {load_error}",
                          {"load_error": load_error,
                           "outside_s": {k: round(v, 3) for k, v in seen.items()}})
    out = _lifecycle(ctx)
    if out.get("error"):
        raise CheckFailed(f"lifecycle did not complete: {out['error']}", out)
    if out.get("load_error"):
        raise CheckFailed(f"the extension did not load: {out['load_error']}", out)
    timings: dict[str, float] = out.get("timings", {})
    slow = {k: round(v, 3) for k, v in timings.items() if k in LIMITS and v > LIMITS[k]}
    if slow:
        raise CheckFailed(
            "lifecycle calls exceeded their limits: "
            + ", ".join(f"{k} took {v:.2f} s (limit {LIMITS[k]:.0f} s)" for k, v in slow.items()),
            out,
        )
    if out.get("errors"):
        raise CheckFailed(f"lifecycle calls raised: {out['errors']}", out)
    if out.get("health") != "healthy":
        raise CheckFailed(f"health() after start reported {out.get('health')!r}", out)
    ctx.figure("lifecycle_ms", {k: round(v * 1000, 3) for k, v in timings.items()})


#: What the harness may add to a lifecycle call seen across the pipe and loopback HTTP,
#: beyond the same call on a host without the extension (seconds).
OUTSIDE_SLACK_S = 1.0


def _timed_from_outside(ctx: CheckContext) -> tuple[dict[str, float], str]:
    """Wall-clock times of a host's start, a health request and the stop, measured in the
    parent around the pipe calls and HTTP, for a host with the extension and for a bare
    host in the clean reference worker (the harness's own share), and why the host did
    not load the extension ("" when it did). Nothing the extension does to clocks inside
    its worker changes these."""
    load_error = ""

    def cycle(start: Callable[[], HostHandle], health_path: str | None) -> dict[str, float]:
        nonlocal load_error
        t0 = time.perf_counter()
        host = start()
        seen = {"start": time.perf_counter() - t0}
        if health_path is not None:
            load_error = host.load_errors.get(ctx.extension, "")
        try:
            if health_path is not None:
                t0 = time.perf_counter()
                host.request("GET", health_path, as_role="admin")
                seen["health"] = time.perf_counter() - t0
        finally:
            t0 = time.perf_counter()
            host.close()
            seen["stop"] = time.perf_counter() - t0
        return seen

    try:
        ctx.bare_host().close()  # the reference worker starts on first use: not timed
        bare = cycle(ctx.bare_host, None)
    except CheckSkipped:
        bare = {"start": 0.0, "stop": 0.0}
    seen = cycle(ctx.host, f"/api/v1/extensions/{ctx.extension}/health")
    return {**seen, "bare_start": bare["start"], "bare_stop": bare["stop"]}, load_error


def _over_outside_limits(seen: dict[str, float]) -> list[str]:
    """Which calls took longer than the extension's limits allow, beyond the bare host."""
    allowed = {
        "start": LIMITS["initialize"] + LIMITS["start"] + seen["bare_start"] + OUTSIDE_SLACK_S,
        "stop": LIMITS["stop"] + seen["bare_stop"] + OUTSIDE_SLACK_S,
        "health": LIMITS["health"] + OUTSIDE_SLACK_S,
    }
    names = {"start": "starting a host with it (initialize and start)",
             "stop": "stopping it", "health": "a health request"}
    return [f"{names[k]} took {seen[k]:.2f} s (allowed {allowed[k]:.2f} s)"
            for k in ("start", "health", "stop") if k in seen and seen[k] > allowed[k]]


@check(id="LC-04", title="stop() is idempotent",
       requires=("REQ-1.1",), severity=REQUIRED, blocked_by=("LC-01", "LC-03"))
def stop_idempotent(ctx: CheckContext) -> None:
    """Make stop() safe to call twice: guard released resources, don't raise."""
    out = _lifecycle(ctx)
    if out.get("stop_again") != "ok":
        raise CheckFailed(f"a second stop() failed: {out.get('stop_again')}", out)


@check(id="LC-05", title="Restart (stop, then start) works",
       requires=("REQ-1.1", "REQ-2.3"), severity=REQUIRED, blocked_by=("LC-01", "LC-03"))
def restart_works(ctx: CheckContext) -> None:
    """After stop(), start() must bring the extension back to healthy: don't leave
    state that only initialize() can rebuild half-torn-down."""
    out = _lifecycle(ctx)
    restart = out.get("restart") or {}
    if not restart.get("ok"):
        raise CheckFailed(f"start() after stop() failed: {restart.get('error')}", out)
    if restart.get("health") != "healthy":
        raise CheckFailed(f"after restart health() reported {restart.get('health')!r}", out)


def _leak_summary(leaked: dict[str, Any]) -> list[str]:
    parts = []
    for key, label in (("threads", "thread"), ("tasks", "asyncio task"),
                       ("fds", "file descriptor")):
        items = list(leaked.get(key) or [])
        if items:
            parts.append(f"{len(items)} {label}(s) ({', '.join(map(str, items[:3]))})")
    for key, label in (("sqlite_connections", "open SQLite connection(s)"),
                       ("pool_checked_out", "pooled database connection(s) never returned")):
        if leaked.get(key):
            parts.append(f"{leaked[key]} {label}")
    return parts


@check(id="LC-06", title="Nothing is left running or open after stop()",
       requires=("REQ-1.1", "REQ-6.1"), severity=REQUIRED, blocked_by=("LC-01", "LC-03"),
       rerun_on_fail=False, fresh_worker=True,
       fix="In stop(), cancel and await every task you created, signal and join every "
           "thread (a sleeping loop must wake up: wait on an Event, not time.sleep), cancel "
           "every timer (and keep a stopped flag the timer's callback reads before it "
           "re-arms), shut executors down, close files and return every database "
           "connection.")
def nothing_leaked_after_stop(ctx: CheckContext) -> None:
    """In a worker process nothing else ran in, a host starts the extension, serves its
    routes and stops it; one second later nothing it started is still there: no thread,
    task, open file or database connection (seen by the worker), no busy thread, no new
    descriptor and no process beside the worker (seen by the parent in /proc), and no
    thread started after stop() returned while the parent watches the idle worker for
    1.2 s (a timer that re-arms itself). A leak seen once is a failure, never 'flaky'."""
    before = _worker_seen(ctx)
    out = ctx.probe("lifecycle.leaks", extension=ctx.extension, settle_s=LEAK_SETTLE_S)
    if out.get("load_error"):
        raise CheckFailed(f"the extension did not load: {out['load_error']}", out)
    leaked: dict[str, Any] = out.get("leaked") or {}
    parts = _leak_summary(leaked)
    # Seen from outside: threads the kernel shows in the worker after stop() that were
    # not there before the cycle and are still busy (however they were started, whatever
    # the worker's own view of its threads says), and descriptors left open.
    threads, born, fds = _left_from_outside(ctx, before)
    if threads and not leaked.get("threads"):
        leaked["threads_seen_from_outside"] = threads
        waits = ", ".join(sorted({t["wchan"] or t["state"] for t in threads}))
        parts.append(f"{len(threads)} thread(s) still running or sleeping in a loop, seen "
                     f"from outside (waiting in: {waits})")
    if born:
        leaked["threads_started_after_stop"] = born
        parts.append(f"{len(born)} new thread(s) started after stop() had returned, seen "
                     f"from outside (a timer or loop that re-arms itself)")
    if fds and not leaked.get("fds"):
        leaked["fds_seen_from_outside"] = fds
        parts.append(f"{len(fds)} file descriptor(s) seen from outside ({', '.join(fds[:3])})")
    # Seen from outside, whatever the worker says: after stop() nothing but the worker
    # itself may be running in its sandbox (a detached daemon would outlive the run).
    survivors = [p for p in ctx.outside()["worker"]["processes"] if p["role"] != "worker"]
    if survivors:
        leaked["processes"] = survivors
        parts.append(f"{len(survivors)} process(es) running beside the worker "
                     f"({', '.join(sorted({p['name'] for p in survivors}))})")
    if parts:
        raise CheckFailed(
            f"{LEAK_SETTLE_S:.0f} s after stop() the extension still holds: " + "; ".join(parts),
            {"leaked": leaked, "host_own": out.get("host_own"), "requests": out.get("requests")},
        )


#: Kernel waits of a thread that is busy on its own: sleeping in a loop, waiting for
#: I/O, or running. A thread parked on a lock or queue (``futex``) may be an idle
#: worker of the harness's thread pool and is left to the in-process view.
_BUSY_WAITS = ("nanosleep", "epoll", "poll", "select", "sk_wait", "wait_woken", "accept",
               "pipe_read", "do_sys", "unix_stream")


def _worker_seen(ctx: CheckContext) -> dict[str, Any]:
    found = [p for p in ctx.outside()["worker"]["processes"] if p["role"] == "worker"]
    return found[0] if found else {"tasks": [], "fd_kinds": []}


def _busy(task: dict[str, Any]) -> bool:
    wchan = str(task.get("wchan") or "")
    return task.get("state") == "R" or any(w in wchan for w in _BUSY_WAITS)


def _left_from_outside(ctx: CheckContext, before: dict[str, Any]
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """What the kernel shows of the worker once ``stop()`` has returned and the harness
    is idle, in looks spread over :data:`LEAK_WATCH_S`.

    * busy threads: new since before the cycle and busy in the first and the last look
      (a thread on its way out is not a leak);
    * threads started after ``stop()``: present in a later look, absent from the first
      and from before the cycle. Nothing of the harness runs between the looks, so a
      thread born then is the extension's, however short-lived: a timer that re-arms
      itself shows here whatever its period or its kernel wait;
    * descriptors new since before the cycle and open in the first and the last look.
    """
    old = {t["tid"] for t in before.get("tasks", [])}
    looks = []
    for pause in LEAK_LOOKS_S:
        time.sleep(pause)
        looks.append(_worker_seen(ctx))
    first_tids = {t["tid"] for t in looks[0].get("tasks", [])}
    first_busy = {t["tid"] for t in looks[0].get("tasks", []) if t["tid"] not in old and _busy(t)}
    threads = [t for t in looks[-1].get("tasks", []) if t["tid"] in first_busy and _busy(t)]
    born: dict[int, dict[str, Any]] = {}
    for look in looks[1:]:
        for t in look.get("tasks", []):
            if t["tid"] not in first_tids and t["tid"] not in old:
                born.setdefault(t["tid"], t)
    was = Counter(before.get("fd_kinds", []))
    fds = ((Counter(looks[0].get("fd_kinds", [])) - was)
           & (Counter(looks[-1].get("fd_kinds", [])) - was))
    return threads, list(born.values()), sorted(fds.elements())


def _available_extensions(ctx: CheckContext) -> list[str]:
    """The other extensions the harness can load beside this one: those given with
    ``--with``, then its companions."""
    given = ctx.dependencies()
    for count in range(9, 0, -1):
        try:
            return given + ctx.companions(count)
        except CheckSkipped:
            continue
    return given


def _static_dependency_problems(ctx: CheckContext) -> list[str]:
    problems = []
    for dep, text in sorted(ctx.manifest.dependencies.items()):
        if dep == ctx.extension:
            problems.append(f"{dep!r} depends on itself (a dependency cycle): remove it")
            continue
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            problems.append(f"dependency {dep!r}: {text!r} is not a PEP 440 version specifier "
                            "(write e.g. \">=1.2,<2\")")
    return problems


@check(id="LC-07", title="Declared dependencies resolve; cycles and conflicts are refused",
       requires=("REQ-2.4", "REQ-9.1", "REQ-9.2"), severity=REQUIRED, blocked_by=("LC-01",))
def dependencies_resolve(ctx: CheckContext) -> None:
    """Depend only on extensions that exist, with version ranges their released versions
    satisfy, and never (directly or through others) on yourself."""
    deps = dict(ctx.manifest.dependencies)
    problems = _static_dependency_problems(ctx)
    if problems:
        raise CheckFailed("; ".join(problems), {"dependencies": deps})
    ctx.figure("dependencies", len(deps))
    if not deps:
        return
    available = _available_extensions(ctx)
    missing = sorted(d for d in deps if d not in available)
    if missing:
        raise CheckFailed(
            f"dependency {missing[0]!r} is not an extension the harness can load beside this one "
            f"(available: {', '.join(available) or 'none'}); it cannot resolve",
            {"dependencies": deps, "missing": missing, "available": available},
        )
    host = ctx.host(extensions=[ctx.extension, *sorted(deps)])
    error = host.load_errors.get(ctx.extension)
    if error:
        raise CheckFailed(f"the host refused the extension's dependencies: {error}",
                          {"dependencies": deps, "load_error": error})
    info = details(host, ctx.extension)
    if info.get("state") != "active" or info.get("dependencies") != deps:
        raise CheckFailed(
            f"with its dependencies present the extension is {info.get('state')!r}",
            {"dependencies": deps, "listed": info.get("dependencies"),
             "state": info.get("state")},
        )
