"""A failure that names a dependency's files is marked inherited, naming the distribution."""

from __future__ import annotations

from pathlib import Path

from dufflebag_harness.outside.environments import Distribution, PythonEnvironment
from dufflebag_harness.outside.environments.trace import trace_result


def _env(site: Path) -> PythonEnvironment:
    dists = (Distribution("python-slugify", "9.0.0", "MIT", ("slugify",), True),
             Distribution("text-unidecode", "1.3", "", ("text_unidecode",), False))
    return PythonEnvironment(path=site.parent, key="sha256:" + "0" * 64, python="python",
                             site_packages=site, distributions=dists, requirements=(),
                             source="", locked=False, tool="uv", reused=False, build_s=0.0)


def _result(status: str, reason: str, evidence: object = None) -> dict:
    return {"check": "IS-10", "backend": "sqlite", "status": status, "reason": reason,
            "evidence": evidence}


def test_a_runtime_finding_in_dependency_code_is_inherited(tmp_path: Path) -> None:
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    reason = (f"1 undeclared capability use(s): wrote {site}/text_unidecode/data.bin outside "
              "its storage (at quotes/extension.py:19)")
    traced = trace_result(_result("fail", reason, {"uses": ["write"]}), _env(site))
    assert traced["evidence"]["uses"] == ["write"]
    assert [(t["distribution"], t["version"], t["origin"]) for t in
            traced["evidence"]["traced"]] == [("text-unidecode", "1.3", "inherited")]


def test_a_finding_in_the_extensions_own_code_is_left_alone(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    result = _result("fail", "wrote /srv/x outside its storage (at quotes/extension.py:19)")
    assert trace_result(result, _env(site)) == result
    passed = _result("pass", f"read {site}/slugify/__init__.py")
    assert trace_result(passed, _env(site)) == passed
    assert trace_result(result, None) == result
