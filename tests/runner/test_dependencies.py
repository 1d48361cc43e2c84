"""An extension that depends on another is certified with it loaded beside (--with)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import run_cli, write_extension

from dufflebag_harness.outside.runner import BadInput, CertifyOptions, certify

BASE = """
    from dufflebag_harness.sdk import Extension, JSONResponse, Metadata

    async def ping(request):
        return JSONResponse({"pong": True})

    class Ext(Extension):
        metadata = Metadata(name="dep_base", version="1.4.0", host_api=">=1.0,<2",
                            description="test extension", license="MIT")

        def register_routes(self, router):
            router.get("/ping", ping)
"""

USER = """
    from dufflebag_harness.sdk import Extension, JSONResponse, Metadata

    async def ping(request):
        return JSONResponse({"pong": True})

    class Ext(Extension):
        metadata = Metadata(name="dep_user", version="1.0.0", host_api=">=1.0,<2",
                            description="test extension", license="MIT",
                            dependencies={"dep_base": ">=1.2,<2"})

        def register_routes(self, router):
            router.get("/ping", ping)
"""


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    base = write_extension(tmp_path, "dep_base", BASE)
    (base / "extension.toml").write_text(
        (base / "extension.toml").read_text().replace('version = "1.0.0"', 'version = "1.4.0"'))
    user = write_extension(tmp_path, "dep_user", USER)
    toml = user / "extension.toml"
    toml.write_text(toml.read_text() + '\n[dependencies]\ndep_base = ">=1.2,<2"\n')
    return base, user


def _statuses(outcome: object) -> dict[str, str]:
    report = outcome.report  # type: ignore[attr-defined]
    return {r["check"]: r["status"] for r in report["results"]}


def test_dependency_given_with_loads_beside(pair: tuple[Path, Path], tmp_path: Path) -> None:
    base, user = pair
    outcome = certify(CertifyOptions(path=user, out=tmp_path / "o1", with_=[base],
                                     only=["LC-01", "LC-03", "LC-07", "RT-01"], seed=2))
    statuses = _statuses(outcome)
    assert statuses["LC-03"] == "pass" and statuses["LC-07"] == "pass", outcome.report["results"]
    assert statuses["RT-01"] == "pass"


def test_missing_dependency_fails_lc07(pair: tuple[Path, Path], tmp_path: Path) -> None:
    _, user = pair
    outcome = certify(CertifyOptions(path=user, out=tmp_path / "o2",
                                     only=["LC-01", "LC-07"], seed=2))
    assert _statuses(outcome)["LC-07"] == "fail"
    assert outcome.level == "failed"


def test_wrong_version_or_unrelated_with_is_bad_input(pair: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    base, user = pair
    toml = base / "extension.toml"
    toml.write_text(toml.read_text().replace('version = "1.4.0"', 'version = "2.0.0"'))
    with pytest.raises(BadInput, match=r"dep_base 2\.0\.0 does not satisfy"):
        certify(CertifyOptions(path=user, out=tmp_path / "o3", with_=[base]))
    r = run_cli("certify", str(base), "--with", str(user), "--out", str(tmp_path / "o4"))
    assert r.returncode == 2 and "does not depend on 'dep_user'" in r.stderr, r.stderr
    assert not (tmp_path / "o3").exists() and not (tmp_path / "o4").exists()


def test_one_version_rule_on_both_sides() -> None:
    """The parent's --with check and the host's start plan admit the same versions."""
    from dufflebag_harness.sdk import Metadata
    from dufflebag_harness.shared.dependencies import Unmet, plan_load, unmet

    def meta(name: str, version: str, **deps: str) -> Metadata:
        return Metadata(name=name, version=version, host_api=">=1.0,<2",
                        description="test extension", license="MIT", dependencies=deps)

    for version, expected in [("1.4.0", None), ("1.5.0rc1", None), ("2.0.0", Unmet.RANGE),
                              ("1.x", Unmet.VERSION)]:
        assert unmet(">=1.2,<2", version) is expected
        plan = plan_load({"dep_user": meta("dep_user", "1.0.0", dep_base=">=1.2,<2"),
                          "dep_base": meta("dep_base", version)})
        assert ("dep_user" in plan.order) is (expected is None), plan
    assert unmet("banana", "1.0.0") is Unmet.SPECIFIER


def test_with_requirements_adds_what_is_required_first_and_cuts_cycles() -> None:
    from dufflebag_harness.shared.dependencies import with_requirements

    requires = {"app": ["mid", "absent"], "mid": ["base"], "base": [], "other": [],
                "aa": ["bb"], "bb": ["aa"]}
    assert with_requirements(["app", "other"], requires) == ["base", "mid", "app", "other"]
    assert with_requirements(["mid", "app"], requires) == ["base", "mid", "app"]
    assert with_requirements(["aa"], requires) == ["bb", "aa"]
    assert with_requirements([], requires) == []
