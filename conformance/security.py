"""SE — security: bandit, the import allow-list and tamper policy, secrets kept out of logs.

The platform's security success criterion (SC-SEC: an audit with no critical
vulnerabilities) is what these serve; reports cite platform requirements only.

SE-01, SE-02, SE-03 and SE-05 read the artifact in the parent (bandit, ``ast`` and,
for SE-03, every file including bytecode; nothing is imported). SE-04 runs the
extension with planted secrets and searches what it logged and printed
(captured in the worker, so the result is self-reported). SE-06 searches what left
the sandbox — responses, the worker's stdout/stderr, the host's storage folder, what
it sent to its declared network targets, all read by the parent — for the fake
credentials planted in every worker's environment and HOME (judged from outside).
"""

from __future__ import annotations

from typing import Any

from dufflebag_harness.conformance._probing import require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._security_bandit import BanditError, run_bandit
from dufflebag_harness.conformance._security_canaries import Leak, drive, mask, needles, search
from dufflebag_harness.conformance._security_exercise import exercise
from dufflebag_harness.conformance._security_globals import compare
from dufflebag_harness.conformance._security_secrets import canary_config
from dufflebag_harness.conformance._security_static import scan_imports
from dufflebag_harness.conformance._security_testrun import scan_test_tampering
from dufflebag_harness.conformance._types import (
    ADVISORY,
    REQUIRED,
    CheckContext,
    CheckFailed,
    HostHandle,
)


def _bandit(ctx: CheckContext) -> Any:
    try:
        return run_bandit(ctx.manifest.root, ctx.manifest.tests.paths)
    except BanditError as exc:
        raise RuntimeError(str(exc)) from None


@check(id="SE-01", title="bandit finds no high-severity issue and can read every file",
       requires=("SC-SEC", "REQ-1.3"), severity=REQUIRED, blocked_by=(),
       fix="Fix what bandit reports as HIGH (shell=True with input, weak crypto for security, "
           "disabled TLS checks, ...). `# nosec` and .bandit files are ignored. Every Python "
           "file must parse: an unreadable file is not a clean one.")
def bandit_no_high(ctx: CheckContext) -> None:
    """No HIGH-severity bandit finding in the extension's code (tests excluded)."""
    run = _bandit(ctx)
    ctx.figure("bandit", {"files": run.files, "high": len(run.at("HIGH")),
                          "medium": len(run.at("MEDIUM")), "low": len(run.at("LOW"))})
    if run.errors:
        raise CheckFailed(f"bandit could not read {len(run.errors)} file(s), e.g. "
                          f"{run.errors[0]['file']}: {run.errors[0]['reason']}",
                          {"errors": run.errors[:20]})
    high = run.at("HIGH")
    if high:
        raise CheckFailed(f"{len(high)} high-severity finding(s), e.g. {high[0]['where']} "
                          f"{high[0]['test']}: {high[0]['text']}", {"high": high[:20]})


@check(id="SE-02", title="bandit finds no medium-severity issue",
       requires=("REQ-1.3",), severity=ADVISORY, blocked_by=(),
       fix="Review bandit's MEDIUM findings (SQL built from strings, eval, pickle, "
           "unverified requests, ...); fix them or waive this check with a reason.")
def bandit_medium_listed(ctx: CheckContext) -> None:
    """Medium-severity bandit findings, listed."""
    medium = _bandit(ctx).at("MEDIUM")
    if medium:
        raise CheckFailed(f"{len(medium)} medium-severity finding(s), e.g. {medium[0]['where']} "
                          f"{medium[0]['test']}: {medium[0]['text']}", {"medium": medium[:30]})


@check(id="SE-03", title="Imports stay on the allow-list; no tampering with the harness",
       requires=("REQ-1.3", "REQ-6.1"), severity=REQUIRED, blocked_by=(),
       fix="Every file of the artifact is checked, build/, dist/, virtualenvs, caches and "
           "hidden folders included: ship Python source only. No native modules (.so, .pyd, "
           ".dylib, .dll), no .pth files, no sitecustomize.py/usercustomize.py, and no bytecode "
           "but this Python's own cache of the source beside it (delete stray .pyc files and "
           "stale __pycache__ folders, or certify a clean folder, wheel or sdist). "
           "Import only the standard library, your own package, dufflebag_harness.sdk and "
           "the packages you declare in pyproject.toml [project].dependencies (tests may also "
           "import pytest, fixtures and the harness's own libraries such as httpx or "
           "jsonschema); a package installed only as a dependency of a dependency must be "
           "declared to be imported. In code and tests alike, never import dufflebag_harness "
           "internals, ctypes or "
           "_pytest; never run exec/eval/compile/__import__ in any spelling (call re.compile, "
           "not a bare compile), import by computed name, or call getattr/setattr/delattr with "
           "a computed name on anything but self; never touch stack frames, sys.modules or "
           "sys.path, rewrite __file__/__spec__/__loader__/__builtins__, write builtins, walk "
           "gc objects, or assign attributes of other modules.")
def import_policy(ctx: CheckContext) -> None:
    """The allow-list and tamper policy hold for every file of the artifact (source and
    bytecode; native modules and start-up hooks refused)."""
    m = ctx.manifest
    env = m.environment  # its declared Python dependencies, installed (None: none declared)
    findings, files = scan_imports(m.root, m.tests.paths, m.tests.source,
                                   list(m.dependencies),
                                   declared=env.declared_modules if env else None,
                                   installed=env.installed_modules if env else None)
    ctx.figure("import_policy_files", files)
    if findings:
        raise CheckFailed(f"{len(findings)} import-policy violation(s), e.g. {findings[0]}",
                          {"findings": [str(f) for f in findings[:40]],
                           "rules": sorted({f.rule for f in findings})})


def _needles(hosts: list[HostHandle], planted: dict[str, str],
             extra: dict[str, str]) -> dict[str, str]:
    out = {f"config {path}": value for path, value in planted.items()}
    for host in hosts:
        out.update({f"bearer token of {role}": token for role, token in host.tokens.items()})
    out.update({k: v for k, v in extra.items() if v})
    return out


def _masked(text: str, secrets_: dict[str, str]) -> str:
    for value in secrets_.values():
        text = text.replace(value, "[SECRET]")
    return text[:400]


@check(id="SE-04", title="Secrets never appear in the extension's logs",
       requires=("REQ-5.3", "REQ-6.4"), severity=REQUIRED,
       fix="Never log credentials: not request headers (Authorization), not configuration "
           "values marked writeOnly/x-secret or named like password/token/secret/api key, "
           "not login bodies. Pass them as keyword fields to services.logger (redacted) or "
           "leave them out.")
def secrets_not_logged(ctx: CheckContext) -> None:
    """Planted config secrets, bearer tokens and passwords are absent from logs and prints."""
    described = ctx.probe("describe", extension=ctx.extension)
    config, planted, skipped = canary_config(described.get("config_schema"))
    hosts: list[HostHandle] = []
    extra: dict[str, str] = {}
    notes: list[str] = [f"no value fitted secret field {p}" for p in skipped]
    ctx.probe("logs.begin", extension=ctx.extension)
    # The parent's own copy of the worker's stdout/stderr, read at the fd level: what a
    # write to the original stderr (or a rewritten in-process capture) cannot hide.
    output_from = ctx.outside()["worker"]["output_size"]
    collected: dict[str, Any] = {}
    try:
        host = ctx.host(config={ctx.extension: config} if config else None)
        hosts.append(host)
        if config and ctx.extension in host.load_errors:
            notes.append(f"the extension refused the secret config: "
                         f"{host.load_errors[ctx.extension]}")
            host.close()
            host = ctx.host()
            hosts.append(host)
        require_loaded(host, ctx.extension)
        done = exercise(host, ctx.extension)
        extra = {"signup password": done.password, "login token": done.login_token}
        host.close()
    finally:
        needles = _needles(hosts, planted, extra)
        labels = list(needles)
        collected = ctx.probe("logs.collect", extension=ctx.extension,
                              needles=[needles[k] for k in labels])
    output = ctx.worker_output(output_from)
    records = [*collected.get("records", []), collected.get("printed", ""), output]
    hits = {label: "stdout/stderr (read by the parent)" for label, value in needles.items()
            if value in output}
    hits.update({labels[f["needle_index"]]: f["source"] for f in collected.get("found", [])
                 if labels[f["needle_index"]] not in hits})
    for text in records:
        hits.update({label: "returned text" for label, value in needles.items()
                     if value in text and label not in hits})
    ctx.figure("secrets_planted", sorted(needles))
    if hits:
        examples = [_masked(t, needles) for t in records
                    if any(needles[label] in t for label in hits)][:5]
        raise CheckFailed(f"{len(hits)} secret(s) appeared in the extension's log output: "
                          f"{', '.join(sorted(hits))}",
                          {"secrets": sorted(hits), "examples": examples, "notes": notes,
                           "records_captured": collected.get("record_count", 0)})


@check(id="SE-05", title="No tampering with the harness's run of the extension's tests",
       requires=("REQ-1.1", "REQ-1.3"), severity=REQUIRED, blocked_by=(),
       fix="Don't ship pytest plugins (pytest11 entry points, pytest_plugins, addopts -p) "
           "and don't implement hooks that rewrite test outcomes "
           "(pytest_runtest_makereport, pytest_pyfunc_call, pytest_sessionfinish, ...), and "
           "let test code leave the end of the run alone (no atexit handlers, os._exit, "
           "os.dup2 over the console, sys.argv or JUnit paths): the harness's verdict on "
           "your tests must be pytest's.")
def no_test_tampering(ctx: CheckContext) -> None:
    """Packaging metadata and test code leave pytest's outcomes alone."""
    findings = scan_test_tampering(ctx.manifest.root, ctx.manifest.tests.paths)
    if findings:
        raise CheckFailed(f"{len(findings)} attempt(s) to change how tests are run or "
                          f"reported, e.g. {findings[0]}",
                          {"findings": [str(f) for f in findings[:30]]})


def _by_canary(leaks: list[Leak]) -> list[dict[str, Any]]:
    """One entry per canary: where it was first seen, in how many places, how encoded."""
    grouped: dict[str, list[Leak]] = {}
    for leak in leaks:
        grouped.setdefault(leak.label, []).append(leak)
    return [{"canary": label, "where": found[0].where, "places": len(found),
             "encodings": sorted({leak.encoding for leak in found})}
            for label, found in sorted(grouped.items())]


def _said(entry: dict[str, Any]) -> str:
    more = f" and {entry['places'] - 1} more place(s)" if entry["places"] > 1 else ""
    encoded = [e for e in entry["encodings"] if e != "plain"]
    return f"{entry['canary']} in {entry['where']}{more}" + (
        f" ({', '.join(encoded)})" if encoded else "")


@check(id="SE-06", title="No planted secret leaves the sandbox",
       requires=("SC-SEC", "REQ-1.3"), severity=REQUIRED,
       blocked_by=("LC-01", "LC-03", "FI-06"),  # every route, as each user, with variants
       fix="Never hand out what the machine you run on holds: environment variables, "
           "~/.ssh, ~/.gnupg, ~/.aws, ~/.netrc or any other credential file. Not in "
           "responses (debug or diagnostic routes, error pages, undocumented parameters "
           "such as ?debug=1 included), not printed, not copied into your storage. The "
           "certification plants fake credentials there and searches every response, "
           "the process's output and your storage folder for them, encoded too. Every "
           "route must answer it: one still rate-limited after retries cannot be searched.")
def planted_secrets_stay_inside(ctx: CheckContext) -> None:
    """Fake credentials planted in the worker's environment and HOME appear in no response
    (declared routes as admin and anonymously, GET routes with undocumented parameters),
    nothing the worker printed, no file the extension left in storage and nothing it sent
    to its declared network targets (recorded by the parent's sinks)."""
    canaries = ctx.canaries()
    if not canaries:
        raise RuntimeError("the worker has no planted canaries to search for")
    found = needles(canaries)
    output_from = ctx.outside()["worker"]["output_size"]
    host = ctx.host()
    require_loaded(host, ctx.extension)
    sent = drive(host, ctx.extension)
    stored = ctx.storage_files(host)
    host.close()
    output = ctx.worker_output(output_from).encode("utf-8", "replace")
    places = {f"the response to {label}": data for label, data in sent.received.items()}
    places.update({f"storage file {path}": data for path, data in stored.items() if data})
    places["stdout/stderr (read by the parent)"] = output
    network = ctx.network_sent()
    for n, record in enumerate(network, 1):
        places[f"what was sent to {record['target']} (connection {n}, recorded by the "
               f"parent's sink{', decrypted' if record['tls'] else ''})"] = record["received"]
    leaks = [leak for where, data in places.items() for leak in search(found, where, data)]
    unreadable = sorted(path for path, data in stored.items() if data is None)
    ctx.figure("canaries_searched", {"canaries": sorted(canaries),
                                     "requests": len(sent.statuses),
                                     "rate_limited": len(sent.rate_limited),
                                     "storage_files": len(stored), "output_bytes": len(output),
                                     "network_connections": len(network)})
    if leaks:
        entries = _by_canary(leaks)
        raise CheckFailed(
            f"{len(entries)} planted secret(s) left the sandbox: "
            + "; ".join(_said(entry) for entry in entries),
            {"leaks": entries, "requests": len(sent.statuses),
             "examples": [{"where": where, "excerpt": mask(places[where], found)}
                          for where in dict.fromkeys(e["where"] for e in entries)][:2]})
    if unreadable:
        raise CheckFailed(f"{len(unreadable)} file(s) in the host's storage could not be read "
                          f"by the parent, so could not be searched: {', '.join(unreadable[:5])}",
                          {"unreadable": unreadable[:40]})
    if sent.rate_limited:
        raise CheckFailed(f"{len(sent.rate_limited)} request(s) were still refused with 429 "
                          f"after retrying for {sent.waited_s:.0f} s, so their answers could not "
                          f"be searched, e.g. {sent.rate_limited[0]}",
                          {"rate_limited": sent.rate_limited[:20],
                           "requests": len(sent.statuses)})


def _fingerprint_now(ctx: CheckContext) -> dict[str, Any]:
    return ctx.probe("globals.fingerprint", extension=ctx.extension, timeout=120)


@check(id="SE-07",
       title="Modules the extension does not own are left as a clean interpreter has them",
       requires=("REQ-1.3", "REQ-6.1"), severity=REQUIRED, fresh_worker=True,
       profiles=("full",),
       fix="Never change code you do not own: no assigning, setattr-ing or vars().update-ing "
           "functions, classes or methods of the standard library, the harness or another "
           "package (json.dumps, http.client.HTTPConnection.request, builtins.open, a "
           "starlette Response method, ...), no replacing a function's __code__ and no "
           "sys.modules entries of your own; wrap what you need in your own module and call "
           "that. Reading them is fine, and so is their own state changing as they are used.")
def globals_untouched(ctx: CheckContext) -> None:
    """Every loaded module the extension does not own — the standard library, the harness,
    third-party packages — matches a clean interpreter after the extension was imported and
    after every route was exercised: each function (its code, module, qualified name,
    defaults and closure), each method of a class defined there, each builtin and each
    module reference is what the clean reference worker has for the same module, and each
    ``sys.modules`` entry is the module a clean import gives. The mechanism does not matter
    (assignment, setattr through a helper, ``vars(module).update``, a new ``__code__``, a
    ``sys.modules`` entry): the effect is compared. Plain data (caches, counters, handler
    lists, registries) is state a library changes itself and is not compared.

    Limits: the fingerprints are taken inside the worker, where the extension's code
    runs, so an extension set on hiding could tamper with the probe itself (SE-03
    refuses the tools for that: frame access, gc walks, writes to other modules);
    modules the clean worker cannot import (the extension's own dependencies) or loads
    from another file are counted, not compared; a change made only on a path the
    harness's requests do not reach, or undone before the request that made it ends, is
    not seen; code generated at run time (attrs, dataclasses) is compared by its names
    only."""
    # A fresh worker: "after import" is the extension's import alone, and the verdict does
    # not depend on which checks ran in the worker before.
    before = _fingerprint_now(ctx)
    host = ctx.host()
    require_loaded(host, ctx.extension)
    exercise(host, ctx.extension)
    host.close()
    after = _fingerprint_now(ctx)
    root = str(after.get("root") or "")

    def own(**args: Any) -> dict[str, Any]:
        return ctx.probe("globals.fingerprint", extension=ctx.extension, timeout=120, **args)

    def clean(**args: Any) -> dict[str, Any]:
        return ctx.reference_probe("globals.fingerprint", timeout=120, **args)

    found: dict[str, Any] = {}
    for phase, seen in (("after import", before), ("after exercising every route", after)):
        diff = compare(seen, own, clean, root)
        for d in diff.differences:
            found.setdefault(str(d), {**d.to_json(), "seen": phase})
        ctx.figure(f"globals_compared_{'import' if phase == 'after import' else 'exercise'}",
                   {"modules": diff.compared, "not_importable_cleanly": len(diff.not_importable),
                    "other_file": len(diff.other_file), "other_file_first": diff.other_file[:10],
                    "not_described": len(diff.undescribed)})
        if diff.undescribed:
            found.setdefault(f"{len(diff.undescribed)} more modules",
                             {"modules": diff.undescribed[:20], "seen": phase,
                              "kind": "not described (too many differed)"})
    if found:
        first = next(iter(found))
        raise CheckFailed(f"{len(found)} change(s) to modules the extension does not own, "
                          f"e.g. {first}", {"changes": list(found.values())[:6],
                                            "owned": after.get("owned", [])[:5]})
