"""FI — fault isolation: the harness injects faults and watches the host survive.

Faults are injected by the worker into the extension *instance* (every handler
raises, or initialize raises after running), so a healthy extension can be
shown to fail safely, and an extension that hides or spreads failures is caught.
"""

from __future__ import annotations

from typing import Any

from conformance._probing import (
    concrete,
    core_differences,
    details,
    routes,
    set_enabled,
    state,
)
from conformance._registry import check
from conformance._types import REQUIRED, CheckContext, CheckFailed, HostHandle


def _callable_routes(host: HostHandle, name: str) -> list[tuple[str, str, str | None]]:
    out = []
    for r in routes(details(host, name), name):
        role = None
        if r.get("auth") or r.get("roles"):
            roles = list(r.get("roles") or [])
            role = next((x for x in ("admin", "manager", "user") if x in roles), None)
            role = role or ("user" if not roles else None)
            if role is None:
                continue
        for m in r["methods"]:
            if m in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                out.append((m, concrete(r["full_path"]), role))
    return out


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
    targets = [*_callable_routes(host, ctx.extension), ("GET", f"/ext/{other}/ping", None)]
    for method, path, role in targets:
        r = host.request(method, path, as_role=role)
        body = r.text[:300]
        if r.status_code != 500 or "extension error" not in body:
            problems.append({"request": f"{method} {path}", "status": r.status_code,
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
    method, path, role = targets[0]
    statuses = [host.request(method, path, as_role=role).status_code
                for _ in range(threshold + 2)]
    st = state(host, ctx.extension)
    after = host.request(method, path, as_role=role).status_code
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
    for diff in core_differences(host, ctx.host(extensions=[other])):
        problems.append(f"{diff['request']} differs from a host without the extension")
    for method, path, role in routes_or_empty(host, ctx.extension):
        r = host.request(method, path, as_role=role)
        if r.status_code != 404:
            problems.append(f"{method} {path} answers {r.status_code} although not loaded")
    if problems:
        raise CheckFailed("; ".join(problems), {"problems": problems, "details": info})


def routes_or_empty(host: HostHandle, name: str) -> list[tuple[str, str, str | None]]:
    try:
        return _callable_routes(host, name)
    except CheckFailed:
        return []
