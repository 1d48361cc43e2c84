"""DP-01's rules on installed dependencies: start-up hooks and shadowing, each finding
naming the distribution and marked inherited."""

from __future__ import annotations

from pathlib import Path

from dufflebag_harness.conformance.dependencies import isolation_findings
from dufflebag_harness.outside.environments import Distribution, PythonEnvironment


def _env(*dists: Distribution) -> PythonEnvironment:
    return PythonEnvironment(path=Path("/env"), key="sha256:" + "0" * 64, python="python",
                             site_packages=Path("/env/site-packages"), distributions=dists,
                             requirements=(), source="", locked=False, tool="uv",
                             reused=False, build_s=0.0)


def test_clean_dependencies_have_no_finding() -> None:
    clean = Distribution("tabulate", "0.10.0", "MIT", ("tabulate",), True,
                         files=("tabulate/__init__.py", "tabulate-0.10.0.dist-info/RECORD"))
    assert isolation_findings(_env(clean)) == []


def test_hooks_and_shadowing_are_inherited_findings() -> None:
    hooked = Distribution("fastslug", "1.0.0", "MIT", ("fastslug",), True,
                          files=("fastslug/__init__.py", "fastslug-speedups.pth"))
    custom = Distribution("tweaks", "2.0", "MIT", ("sitecustomize",), False,
                          files=("sitecustomize.py",))
    shadow = Distribution("jsonish", "0.1", "MIT", ("json", "starlette"), True,
                          files=("json/__init__.py", "starlette/__init__.py"))
    found = isolation_findings(_env(hooked, custom, shadow))
    got = {(f["distribution"], f["file"], f["rule"], f["origin"]) for f in found}
    assert ("fastslug", "fastslug-speedups.pth", "startup-hook", "inherited") in got
    assert ("tweaks", "sitecustomize.py", "startup-hook", "inherited") in got
    assert ("jsonish", "json", "shadowing", "inherited") in got          # the standard library
    assert ("jsonish", "starlette", "shadowing", "inherited") in got     # the harness's own
    assert {f["origin"] for f in found} == {"inherited"}
