"""DP — the extension's declared Python dependencies, as installed for it.

``certify`` installs what the extension declares (``pyproject.toml``
``[project].dependencies`` or its wheel's ``Requires-Dist``) into an environment of its
own (:mod:`dufflebag_harness.outside.environments`) before any check runs; the checks
here read that environment's files and records from the parent (nothing is imported),
so they are judged from outside. Every finding names the distribution it comes from and
is marked ``inherited`` (in a dependency the author did not write, which they fix by
changing or upgrading the dependency) or ``own`` (in the extension's own distribution).
"""

from __future__ import annotations

from typing import Any

from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import (
    ADVISORY,
    REQUIRED,
    CheckContext,
    CheckFailed,
    CheckSkipped,
)
from dufflebag_harness.outside.loader import RESERVED_TOP_LEVEL

#: Severities, lowest first (as ``dufflebag_harness.outside.environments.vulns`` has them).
_SEVERITIES = ("low", "medium", "high", "critical")

#: Start-up hooks: files the interpreter runs at start in every process of the environment.
_HOOKS = ("sitecustomize", "usercustomize")


def at_or_above(severity: str, threshold: str) -> bool:
    """A finding whose record states no severity meets any threshold (fail closed)."""
    if severity not in _SEVERITIES:
        return True
    return _SEVERITIES.index(severity) >= _SEVERITIES.index(threshold)


def _environment(ctx: CheckContext) -> Any:
    return ctx.manifest.environment


def isolation_findings(env: Any) -> list[dict[str, str]]:
    """What installed dependencies do that breaks the isolation rules, each marked
    ``inherited``: a ``.pth`` file or a ``sitecustomize``/``usercustomize`` module (code
    run at interpreter start, before the harness, in the worker and the test run), or a
    top-level module that shadows the standard library or one of the harness's own
    (it comes first on the path)."""
    found: list[dict[str, str]] = []
    for dist in env.distributions:
        def add(file: str, rule: str, detail: str, d: Any = dist) -> None:
            found.append({"distribution": d.name, "version": d.version, "file": file,
                          "rule": rule, "detail": detail, "origin": "inherited"})

        for file in dist.files:
            top = file.split("/")[0]
            if "/" not in file and file.endswith(".pth"):
                add(file, "startup-hook", "a .pth file: its import lines run at every "
                                          "interpreter start")
            elif top.removesuffix(".py") in _HOOKS:
                add(file, "startup-hook", f"{top.removesuffix('.py')} runs at every "
                                          "interpreter start")
        for module in dist.top_level:
            if module in RESERVED_TOP_LEVEL:
                add(module, "shadowing", f"installs top-level {module!r}, which the standard "
                                         "library or the harness provides (it would be "
                                         "imported instead)")
    return found


@check(id="DP-01", title="Declared dependencies keep to the isolation rules",
       requires=("REQ-1.3", "REQ-6.1"), severity=REQUIRED, blocked_by=(),
       fix="A dependency may not run code at interpreter start (.pth files with import "
           "lines, sitecustomize/usercustomize) nor install a top-level module that the "
           "standard library or the harness provides. The finding names the distribution "
           "(marked inherited): use a release without it, or another package.")
def dependencies_isolated(ctx: CheckContext) -> None:
    """The installed dependencies add no start-up hook and shadow nothing."""
    env = _environment(ctx)
    if env is None:
        ctx.figure("python_dependencies", 0)
        return
    ctx.figure("python_dependencies", len(env.distributions))
    found = isolation_findings(env)
    if found:
        first = found[0]
        raise CheckFailed(
            f"{len(found)} finding(s) in dependencies (inherited), e.g. "
            f"{first['distribution']} {first['version']}: {first['file']}: {first['detail']}",
            {"findings": found[:40], "inherited": len(found), "own": 0})


@check(id="DP-02", title="Dependency licences follow the marketplace's licence policy",
       requires=("REQ-1.3",), severity=ADVISORY, blocked_by=(),
       fix="Every package installed for the extension (and the extension itself) must have "
           "an SPDX licence the policy given with --licence-policy admits: replace a "
           "dependency whose licence is denied or not on the allow list, or ask the "
           "marketplace. A package that states no licence does not pass an allow list.",
       profiles=("full",))
def licences_follow_policy(ctx: CheckContext) -> None:
    """Every dependency's SPDX licence passes the marketplace's policy file."""
    env = _environment(ctx)
    if env is None:
        return
    policy = env.licence_policy
    if policy is None:
        raise CheckSkipped("no licence policy given (certify --licence-policy FILE)")
    licences = {d.name: (d.version, d.licence or "NOASSERTION") for d in env.distributions}
    found = [{"distribution": name, "version": licences[name][0], "licence": licences[name][1],
              "detail": verdict, "origin": "inherited"}
             for name, verdict in sorted(policy["verdicts"].items()) if verdict != "allowed"]
    if policy["own"]["verdict"] != "allowed":
        found.append({"distribution": ctx.manifest.name, "version": ctx.manifest.version,
                      "licence": policy["own"]["licence"], "detail": policy["own"]["verdict"],
                      "origin": "own"})
    ctx.figure("licence_policy", {"packages": len(licences), "not_allowed": len(found)})
    if found:
        first = found[0]
        raise CheckFailed(f"{len(found)} package(s) outside the licence policy "
                          f"{policy['file']}, e.g. {first['distribution']} ({first['licence']}, "
                          f"{first['origin']}): {first['detail']}",
                          {"findings": found[:100], "policy": policy["file"]})


def _vulnerabilities(ctx: CheckContext) -> dict[str, Any] | None:
    env = _environment(ctx)
    if env is None or env.vulnerabilities is None:
        return None
    scan: dict[str, Any] = env.vulnerabilities
    if scan["skipped"]:
        raise CheckSkipped(f"known vulnerabilities not scanned: {scan['skipped']}")
    return scan


def _listed(findings: list[dict[str, Any]]) -> str:
    first = findings[0]
    fixed = f", fixed in {first['fixed_in'][0]}" if first["fixed_in"] else ""
    return (f"{first['package']} {first['version']}: {first['id']} ({first['severity']}, "
            f"{first['origin']}{fixed})")


@check(id="DP-03", title="No known vulnerability in the resolved dependencies",
       requires=("REQ-1.3",), severity=ADVISORY, blocked_by=(),
       fix="Upgrade each listed package to a release its advisory names as fixed (inherited: "
           "a dependency; own: the extension's own distribution), or replace it. Offline, "
           "scan against an OSV export with --vuln-db DIR.", profiles=("full",))
def no_known_vulnerabilities(ctx: CheckContext) -> None:
    """pip-audit (public database) or a given OSV export finds nothing in the resolved set."""
    scan = _vulnerabilities(ctx)
    if scan is None:
        return
    found = scan["findings"]
    ctx.figure("known_vulnerabilities", {"source": scan["source"], "found": len(found)})
    if found:
        raise CheckFailed(f"{len(found)} known vulnerabilit{'y' if len(found) == 1 else 'ies'}"
                          f" ({scan['source']}), e.g. {_listed(found)}",
                          {"findings": found[:100], "source": scan["source"]})


@check(id="DP-04", title="No known vulnerability at or above the marketplace's severity",
       requires=("REQ-1.3",), severity=REQUIRED, blocked_by=(),
       fix="The marketplace requires no known vulnerability at or above the severity given "
           "with --fail-on-severity (one whose record states no severity counts): upgrade "
           "the package to a fixed release or replace it. Without a threshold nothing here "
           "is required (DP-03 lists every finding).", profiles=("full",))
def no_severe_vulnerabilities(ctx: CheckContext) -> None:
    """Findings at or above ``--fail-on-severity`` fail; below it they are DP-03's."""
    env = _environment(ctx)
    threshold = env.vulnerabilities.get("fail_on_severity") if env and env.vulnerabilities \
        else None
    if threshold is None:
        return  # no threshold: DP-03 (advisory) reports what was found
    scan = _vulnerabilities(ctx)
    if scan is None:
        return
    severe = [f for f in scan["findings"] if at_or_above(f["severity"], threshold)]
    if severe:
        raise CheckFailed(f"{len(severe)} known vulnerabilit"
                          f"{'y' if len(severe) == 1 else 'ies'} at or above {threshold} "
                          f"({scan['source']}), e.g. {_listed(severe)}",
                          {"findings": severe[:100], "threshold": threshold,
                           "source": scan["source"]})
