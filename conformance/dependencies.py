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
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed
from dufflebag_harness.outside.loader import RESERVED_TOP_LEVEL

#: Start-up hooks: files the interpreter runs at start in every process of the environment.
_HOOKS = ("sitecustomize", "usercustomize")


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
