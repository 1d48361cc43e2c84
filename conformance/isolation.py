"""IS (runtime, storage, config) — an extension stays inside what it was given.

IS-01..09 (database isolation) live in ``database.py``. Here: what the
extension touches at runtime compared with what it declared (observed by the
worker's capability monitor: a detector, not a sandbox), whether its storage
paths can leave its storage root, and whether it sees anyone's configuration
but its own.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote

from dufflebag_harness.conformance._auth_probing import who
from dufflebag_harness.conformance._fuzz_engine import extension_document
from dufflebag_harness.conformance._isolation_config_paths import (
    hostile_config,
    payloads,
    string_settings,
)
from dufflebag_harness.conformance._isolation_users import (
    Slots,
    Template,
    judge,
    learn,
    mixed,
    run_waves,
    templates,
)
from dufflebag_harness.conformance._probing import MGMT, details, raw_request, require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import route_table
from dufflebag_harness.conformance._security_capabilities import undeclared
from dufflebag_harness.conformance._security_exercise import exercise, host_id, monitor_usage
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed, HostHandle

#: Query parameter names a download-style route commonly takes a path in.
PATH_PARAMS = ("path", "file", "filename", "name", "key")


@check(id="IS-10", title="No undeclared file, network, subprocess or native use at runtime",
       requires=("REQ-1.3", "REQ-10.2"), severity=REQUIRED,
       fix="Declare what the extension needs in extension.toml [capabilities] (network "
           "host:port patterns, filesystem path prefixes, subprocess = true), or stop using "
           "it; keep files in the storage service. ctypes cannot be declared. This is "
           "observed by audit hooks during the requests the harness made (a detector, not "
           "a sandbox): code that only runs on other paths is not seen.")
def runtime_use_declared(ctx: CheckContext) -> None:
    """Used ⊆ declared, at import time and while serving every route, hook and lifecycle."""
    report, requests = monitor_usage(ctx)
    records = _sink_names([*report.get("load", []), *report.get("window_events", [])],
                          ctx.network_sent())
    ctx.figure("capabilities_observed", sorted({f"{r['kind']}:{r['target']}"[:120]
                                                for r in records})[:50])
    bad = undeclared(records, ctx.extension, ctx.manifest.capabilities)
    if bad:
        raise CheckFailed(
            f"{len(bad)} undeclared capability use(s): {bad[0]['reason']} (at {bad[0]['where']})",
            {"undeclared": bad[:30], "dropped_records": report.get("dropped", 0),
             "requests": requests, "observed": "during the harness's requests only"},
        )


def _sink_names(records: list[dict[str, Any]],
                sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with connections to a sink's loopback address named by the declared
    host it stands for (the sandbox resolves ``api.example.org`` to 127.0.0.2, where the
    parent's sink answers), so a declared target is judged by its declared name; the
    mapping is the parent's record, not the worker's."""
    names = {r["address"]: r["host"] for r in sent}
    out = []
    for record in records:
        host, sep, port = str(record.get("target", "")).rpartition(":")
        if record.get("kind") == "network" and sep and host in names:
            record = {**record, "target": f"{names[host]}:{port}"}
        out.append(record)
    return out


def _fill(template: str, payload: str) -> str:
    """``template`` with every path parameter replaced by ``payload``."""
    out, rest = [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        param, _, rest = tail.partition("}")
        whole_path = param.endswith(":path")
        out.append(head + (quote(payload, safe="/" if whole_path else "")))
    return "".join(out) + rest


def _http_leaks(host: HostHandle, name: str, planted: dict[str, Any]) -> list[dict[str, Any]]:
    """Send the planted paths through every GET route (path and query parameters)."""
    leaks = []
    markers = [str(m) for m in planted["markers"]]
    for route in route_table(host, name):
        if not route.admitted or "GET" not in route.methods:
            continue
        role = route.role
        headers = {"Authorization": f"Bearer {host.tokens[role]}"} if role else {}
        for payload in planted["payloads"]:
            base = _fill(route.template, payload)
            query = "&".join(f"{p}={quote(payload, safe='')}" for p in PATH_PARAMS)
            for path in {base, f"{base}?{query}"}:
                status, body = raw_request(host.base_url, path, headers)
                if any(m in body for m in markers):
                    leaks.append({"request": f"GET {path}", "status": status,
                                  "payload": payload})
    return leaks


@check(id="IS-11", title="Storage paths cannot leave the extension's storage root",
       requires=("REQ-1.3",), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"),  # one request per hostile path and route
       fix="Keep files in the storage service the host hands you and pass it the paths "
           "you get: don't join paths yourself (os.path.join, unquoting, open()) and don't "
           "follow symlinks; '..', absolute paths, encoded dots and NUL must be refused.")
def storage_confined(ctx: CheckContext) -> None:
    """Traversal ('..', absolute, symlink, URL-encoded, NUL) is refused by every storage
    the extension holds and by its routes."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    hid = host_id(host)
    planted = ctx.probe("storage.plant", host_id=hid, extension=ctx.extension)
    try:
        leaks = _http_leaks(host, ctx.extension, planted)
    finally:
        attacked = ctx.probe("storage.attack", host_id=hid, extension=ctx.extension,
                             token=planted["token"])
    escapes = [r for r in attacked["results"] if r["outcome"] == "escaped"]
    ctx.figure("storage_objects_probed", attacked["objects"])
    if escapes or leaks:
        first = (f"{escapes[0]['object']}.{escapes[0]['op']}({escapes[0]['payload']!r})"
                 if escapes else leaks[0]["request"])
        raise CheckFailed(
            f"{len(escapes) + len(leaks)} storage path(s) left the storage root (e.g. {first})",
            {"escapes": escapes[:20], "http_leaks": leaks[:10], "objects": attacked["objects"]},
        )


@check(id="IS-12", title="The extension sees only its own configuration section",
       requires=("REQ-7.1", "REQ-1.3"), severity=REQUIRED,
       fix="Read configuration only through services.config (or apply_config); never "
           "look for other extensions' settings in host objects, the garbage collector or "
           "module globals, and never echo them in responses.")
def config_confined(ctx: CheckContext) -> None:
    """A neighbour's configuration (with a canary value) never reaches this extension."""
    [other] = ctx.companions(1)
    canary = "dbh-canary-" + secrets.token_hex(8)
    host = ctx.host(extensions=[ctx.extension, other],
                    config={other: {"dbh_canary": canary}})
    require_loaded(host, ctx.extension)
    if other in host.load_errors:
        raise RuntimeError(f"companion {other} did not load: {host.load_errors[other]}")
    view = ctx.probe("config.view", host_id=host_id(host), extension=ctx.extension)
    problems: list[str] = []
    if canary in json.dumps(view):
        problems.append("the extension's config service shows the neighbour's section")
    done = exercise(host, ctx.extension)
    echoed = [r for r, body in zip(done.requests, done.bodies, strict=False) if canary in body]
    if echoed:
        problems.append(f"{len(echoed)} response(s) carried the neighbour's configuration "
                        f"(e.g. {echoed[0]['method']} {echoed[0]['path']})")
    if problems:
        raise CheckFailed("; ".join(problems), {"problems": problems, "responses": echoed[:10],
                                                "view_keys": sorted(view.get("section", {}))})


@check(id="IS-14", title="Configuration values cannot steer files out of the storage root",
       requires=("REQ-1.3", "REQ-7.1"), severity=REQUIRED, profiles=("full",),
       fix="Never build a file path from a configuration value yourself: pass the value "
           "to the storage service as a relative path (it refuses '..', absolute paths "
           "and links that leave the root), or constrain the setting in config_schema "
           "(an enum, or a pattern without '/', '.' runs, '%' or '~').")
def storage_confined_by_config(ctx: CheckContext) -> None:
    """With every string setting aimed outside the storage area ('..', absolute, a
    sibling sharing the area's name, encoded, '~'), loading the extension and driving
    every route reads and writes nothing outside its storage root: judged by the
    capability monitor and by the parent's own listing of what the sandbox can write."""
    probe_host = ctx.host()
    require_loaded(probe_host, ctx.extension)
    schema = details(probe_host, ctx.extension).get("config_schema")
    defaults: dict[str, Any] = {}
    r = probe_host.request("GET", f"{MGMT}/{ctx.extension}/config", as_role="admin")
    if r.status_code == 200 and isinstance(r.json().get("config"), dict):
        defaults = r.json()["config"]
    probe_host.close()
    if not isinstance(schema, dict) or not list(string_settings(schema)):
        ctx.figure("config_paths_attacked", {"settings": []})
        return
    marker = "dbh-cfg-" + secrets.token_hex(6)
    tried: list[dict[str, Any]] = []
    escapes: list[dict[str, Any]] = []
    for value in payloads(marker, ctx.extension):
        config, used = hostile_config(schema, defaults, value)
        if not used:
            continue
        ctx.probe("monitor.begin")
        host = ctx.host(config={ctx.extension: config})
        area = getattr(host, "storage_root", None)
        own = f"{area}/{ctx.extension}/" if area is not None else None
        loaded = ctx.extension not in host.load_errors
        if loaded:
            exercise(host, ctx.extension)
        seen = set(ctx.paths_named(marker))
        host.close()
        seen |= set(ctx.paths_named(marker))
        report = ctx.probe("monitor.report", extension=ctx.extension)
        records = [rec for rec in [*report.get("load", []), *report.get("window_events", [])]
                   if rec.get("kind") == "file"]
        bad = undeclared(records, ctx.extension, ctx.manifest.capabilities)
        outside = sorted(p for p in seen if own is None or not p.startswith(own))
        tried.append({"value": value, "settings": used, "loaded": loaded})
        if bad or outside:
            escapes.append({"value": value, "settings": used, "created_outside": outside[:10],
                            "monitor": bad[:10]})
    ctx.figure("config_paths_attacked", {"settings": sorted({s for t in tried
                                                             for s in t["settings"]}),
                                         "values": len(tried)})
    if escapes:
        first = escapes[0]
        what = (f"created {first['created_outside'][0]}" if first["created_outside"]
                else first["monitor"][0]["reason"])
        raise CheckFailed(
            f"{len(escapes)} hostile configuration value(s) steered files out of the storage "
            f"root (e.g. {', '.join(first['settings'])} = {first['value']!r}: {what})",
            {"escapes": escapes, "tried": tried})


#: IS-13: concurrent requests per wave (at most), and waves per template and user.
CROSS_USER_THREADS = 16
CROSS_USER_ROUNDS = {"quick": 3, "full": 6}
CROSS_USER_DEADLINE_S = 90.0
#: IS-13: full waves sent at least, however few routes and users there are.
CROSS_USER_MIN_WAVES = 4


@check(id="IS-13", title="Concurrent requests from different users each get their own answer",
       requires=("REQ-1.3", "REQ-6.1", "REQ-5.3"), severity=REQUIRED, blocked_by=("LC-01",),
       fix="Keep per-request data per request: in local variables, the request (its scope "
           "or state) or a contextvar — never on the extension instance, a shared helper "
           "object, a module global or a cache keyed by anything less than the request "
           "(self.current_user = request.user, then an await, then an answer built from "
           "self.current_user answers one user with another's data).")
def cross_user_isolation(ctx: CheckContext) -> None:
    """Many requests to the same extension, from different seeded users with different
    inputs, in flight at once: every answer carries its own request's input and its own
    caller, never another request's or another user's. Each request carries a unique
    marker in every input the route takes (string path parameters, query parameters,
    JSON body fields from its OpenAPI schema, else common names); what an answer echoes
    (a marker, the caller's username or id, at a fixed place) is learned by sending each
    request alone first, twice, as two different users where the route admits them.
    Routes whose answers echo nothing of the request cannot be judged this way (counted
    in the figures); nor can a crossing that needs inputs a schema does not describe, or
    an extension that recognises the harness's markers and behaves only then."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    users = {role: seen["user"] for role, seen in who(host).items()
             if seen["status"] == 200 and isinstance(seen.get("user"), dict)}
    doc = extension_document(host.base_url, ctx.extension)
    slots: dict[Template, Slots] = {}
    for template in templates(route_table(host, ctx.extension), doc):
        slots[template] = learn(host, template, users)[0]
    judgeable = [t for t, s in slots.items() if s.status > 0 and s.any]
    ctx.figure("cross_user_templates", {"routes": len(slots), "echoing": len(judgeable),
                                        "echoed": {t.label: _echoes(slots[t])
                                                   for t in judgeable}})
    if not judgeable:
        return
    threads = CROSS_USER_THREADS
    quotas = ctx.manifest.quotas
    if quotas.requests_per_second or quotas.concurrent_requests < threads:
        # the host's limits for the extension would answer 429/503 instead of it
        ctx.probe("quota.set", host_id=host_id(host), extension=ctx.extension,
                  requests_per_second=0, concurrent_requests=max(threads * 2, 1))
    plan = mixed(judgeable, CROSS_USER_ROUNDS.get(ctx.profile, 6), ctx.seed,
                 least=threads * CROSS_USER_MIN_WAVES)
    answers, errors = run_waves(host, plan, threads, CROSS_USER_DEADLINE_S)
    verdict = judge(answers, slots, users)
    evidence = {"requests": len(plan), "judged": verdict.judged,
                "not_judged": verdict.not_judged, "threads": threads, "errors": errors[:5]}
    ctx.figure("cross_user_isolation", evidence)
    if verdict.crossed:
        first = verdict.problems[0]
        raise CheckFailed(
            f"{verdict.crossed} of {verdict.judged} concurrent answers belonged to another "
            f"request or user (e.g. {first['request']} as {first['as']}: {first['problem']}"
            + (f", from {first['other']})" if first.get("other") else ")"),
            {**evidence, "problems": verdict.problems})
    if verdict.judged < len(plan) // 2:
        raise CheckFailed(
            f"only {verdict.judged} of {len(plan)} concurrent answers came back with the status "
            f"they had alone ({verdict.not_judged or errors[:1]}), too few to judge whose "
            "answers they were", evidence)


def _echoes(slots: Slots) -> list[str]:
    return ([f"marker at {'/'.join(p) or '(top)'}" for p in slots.markers]
            + [f"caller at {'/'.join(p) or '(top)'}" for p in slots.identities]
            + (["marker in text"] if slots.text else []))
