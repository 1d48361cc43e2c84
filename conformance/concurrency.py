"""CC — concurrency: the extension among nine others, all served at once.

The parent sends concurrent requests from several threads (each with its own
keep-alive connection) to one host carrying the extension and nine companion
copies, then judges every answer itself: companions must return their own name
and the value they stored; the extension's own GET routes must answer as they
do alone. A module-level "current request" or a buffer shared between
requests shows up here and nowhere else.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from dufflebag_harness.conformance._baseline import require_working_alone
from dufflebag_harness.conformance._load_concurrent import (
    Tally,
    Task,
    Traffic,
    baseline,
    join_all,
    run_threads,
)
from dufflebag_harness.conformance._perf_client import Target, TimedClient
from dufflebag_harness.conformance._perf_targets import own_get_targets
from dufflebag_harness.conformance._probing import MGMT, require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed

#: Companions loaded beside the extension (ten extensions in one host).
COMPANIONS = 9
#: Concurrent client threads.
THREADS = 12
#: Wall-clock bound for a traffic phase; beyond it the host is taken to hang or deadlock.
DEADLINE_S = 60.0
#: Pause between two administrative toggles (seconds).
TOGGLE_PAUSE_S = 0.05


@dataclass(frozen=True)
class Plan:
    rounds: int  # CC-01: requests per companion and per own route
    toggles: int  # CC-02: disable/enable cycles


PLANS = {"quick": Plan(rounds=6, toggles=6), "full": Plan(rounds=15, toggles=20)}


def _setup(ctx: CheckContext, toggled: frozenset[str] = frozenset()) -> Traffic:
    names = ctx.companions(COMPANIONS)
    host = ctx.host(extensions=[ctx.extension, *names], options={"failure_threshold": 0})
    require_loaded(host, ctx.extension)
    own = own_get_targets(host, ctx.extension)
    alone = baseline(host, own)
    require_working_alone({label: answer[0] for label, answer in alone.items()})
    return Traffic(host, names, own, alone, toggled=toggled)


def _tasks(traffic: Traffic, name: str, rounds: int, seed: int) -> list[Task]:
    """Shuffled work: per round, one item round trip (two requests) per companion and
    as many requests again to the extension's own routes (it is what is certified)."""
    own_each = -(-2 * len(traffic.companions) // max(len(traffic.own), 1))
    tasks: list[Task] = []
    for _ in range(rounds):
        tasks += [partial(_item, traffic, c) for c in traffic.companions]
        tasks += [partial(_own, traffic, t, name) for t in traffic.own for _ in range(own_each)]
    random.Random(seed).shuffle(tasks)
    return tasks


def _item(traffic: Traffic, name: str, client: TimedClient, tally: Tally) -> None:
    traffic.item_roundtrip(client, name, tally)


def _own(traffic: Traffic, target: Target, name: str, client: TimedClient, tally: Tally) -> None:
    traffic.own_request(client, target, name, tally)


def _fail_on(tally: Tally, what: str, evidence: dict[str, Any]) -> None:
    if tally.count:
        first = tally.problems[0]
        raise CheckFailed(
            f"{tally.count} of {tally.requests} answers {what} were wrong "
            f"(e.g. {first['request']}: {first['problem']})",
            {**evidence, "problems": tally.problems})


@check(id="CC-01", title="Concurrent requests across ten extensions get their own answers",
       requires=("REQ-6.1", "REQ-1.3"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"), profiles=("full",))
def uncrossed_answers(ctx: CheckContext) -> None:
    """Keep per-request data per request: in local variables, the ASGI scope or a
    contextvar — never in module globals or on the middleware object, which every
    concurrent request (of every extension, for global middleware) shares."""
    plan = PLANS.get(ctx.profile, PLANS["full"])
    traffic = _setup(ctx)
    tasks = _tasks(traffic, ctx.extension, plan.rounds, ctx.seed)
    tally = Tally()
    started = time.monotonic()
    pool = run_threads(traffic.host, tasks, THREADS, tally)
    hung = join_all(pool, started + DEADLINE_S)
    evidence = {"threads": THREADS, "requests": tally.requests, "extensions": COMPANIONS + 1,
                "seconds": round(time.monotonic() - started, 2)}
    ctx.figure("concurrency", evidence)
    if hung:
        raise CheckFailed(f"{len(hung)} client threads were still waiting after {DEADLINE_S:.0f} s "
                          "(a hang or deadlock)", {**evidence, "hung": hung})
    _fail_on(tally, "under concurrency", evidence)


def _toggle(admin: TimedClient, name: str, enable: bool, log: list[dict[str, Any]]) -> None:
    action = "enable" if enable else "disable"
    status, ns, body, _ = admin.send("POST", f"{MGMT}/{name}/{action}", "admin")
    log.append({"action": f"{action} {name}", "status": status, "ms": round(ns / 1e6, 1)})
    if status >= 300:
        raise CheckFailed(f"an admin could not {action} {name} under load: HTTP {status}",
                          {"body": body[:300].decode("latin-1"), "toggles": log[-10:]})


def _cycle(admin: TimedClient, names: list[str], toggles: int,
           log: list[dict[str, Any]]) -> None:
    for _ in range(toggles):
        for enable in (False, True):
            for name in names:
                _toggle(admin, name, enable, log)
                time.sleep(TOGGLE_PAUSE_S)


@check(id="CC-02", title="Enable and disable under load: no 5xx, no wrong data, no deadlock",
       requires=("REQ-2.1", "REQ-2.2", "REQ-6.1"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"), profiles=("full",))
def toggles_under_load(ctx: CheckContext) -> None:
    """Don't pair work across hooks (a pre_request that reserves, a post_request that
    releases): a disabled extension's hooks are skipped, in-flight requests
    included. Hold no lock across awaits that another request needs to finish."""
    plan = PLANS.get(ctx.profile, PLANS["full"])
    names = ctx.companions(COMPANIONS)
    toggled = [ctx.extension, names[0]]
    traffic = _setup(ctx, frozenset(toggled))
    tasks = _tasks(traffic, ctx.extension, 1, ctx.seed)
    tally, stop = Tally(), threading.Event()
    log: list[dict[str, Any]] = []
    started = time.monotonic()
    pool = run_threads(traffic.host, tasks, THREADS, tally, stop)
    admin = TimedClient(traffic.host)
    try:
        _cycle(admin, toggled, plan.toggles, log)
    finally:
        stop.set()
        admin.close()
    hung = join_all(pool, started + DEADLINE_S)
    evidence = {"threads": THREADS, "requests": tally.requests, "toggles": len(log),
                "seconds": round(time.monotonic() - started, 2),
                "slowest_toggle_ms": max((t["ms"] for t in log), default=None)}
    ctx.figure("toggles_under_load", evidence)
    if hung:
        raise CheckFailed(f"{len(hung)} client threads were still waiting after {DEADLINE_S:.0f} s "
                          "of toggling under load (a hang or deadlock)", {**evidence, "hung": hung})
    _fail_on(tally, "while extensions were toggled", evidence)
    _after_toggles(ctx, traffic, evidence)


def _after_toggles(ctx: CheckContext, traffic: Traffic, evidence: dict[str, Any]) -> None:
    """Once enabled again, everything answers as before (nothing left reserved or broken)."""
    settled = Traffic(traffic.host, traffic.companions, traffic.own, traffic.baseline)
    tally = Tally()
    client = TimedClient(traffic.host)
    try:
        for target in settled.own:
            settled.own_request(client, target, ctx.extension, tally)
        for name in settled.companions[:2]:
            settled.item_roundtrip(client, name, tally)
    finally:
        client.close()
    _fail_on(tally, "after toggling ended (extensions enabled again)", evidence)
