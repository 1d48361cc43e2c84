"""certify's dependency options from the command line: every refusal is exit 2 and says
what and where, before any check runs."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from _cli import ROOT, run_cli
from _wheelhouse import quotes_wheelhouse

QUOTES = ROOT / "sample_extensions" / "quotes"


def test_a_conflict_with_the_harness_is_exit_2_naming_it(tmp_path: Path) -> None:
    house = quotes_wheelhouse(tmp_path / "wheels")
    done = run_cli("certify", str(ROOT / "sample_extensions" / "rogues" / "pin_clash"),
                   "--find-links", str(house), "--no-index", "--out", str(tmp_path / "out"),
                   env={"DUFFLEBAG_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 2, done.stdout + done.stderr
    for fragment in ("pin_clash's Python dependencies", "pyproject.toml",
                     "'starlette<0.20,>=0.13'", "conflicts with the harness",
                     importlib.metadata.version("starlette")):
        assert fragment in done.stderr, (fragment, done.stderr)
    assert not (tmp_path / "out").exists()


def test_a_missing_wheel_offline_is_exit_2_naming_the_package(tmp_path: Path) -> None:
    empty = tmp_path / "wheels"
    empty.mkdir()
    done = run_cli("certify", str(QUOTES), "--find-links", str(empty), "--no-index",
                   "--out", str(tmp_path / "out"),
                   env={"DUFFLEBAG_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 2
    assert "python-slugify" in done.stderr or "tabulate" in done.stderr, done.stderr


def test_bad_policy_and_database_options_are_exit_2(tmp_path: Path) -> None:
    house = quotes_wheelhouse(tmp_path / "wheels")
    base = ("certify", str(QUOTES), "--find-links", str(house), "--no-index")
    env = {"DUFFLEBAG_CACHE_DIR": str(tmp_path / "cache")}
    policy = tmp_path / "policy.toml"
    policy.write_text('allow = ["MIT", "not-a-licence"]\n')
    done = run_cli(*base, "--licence-policy", str(policy), env=env)
    assert done.returncode == 2 and "--licence-policy" in done.stderr \
        and "'not-a-licence' is not an SPDX licence id" in done.stderr, done.stderr
    done = run_cli(*base, "--vuln-db", str(tmp_path / "nowhere"), env=env)
    assert done.returncode == 2 and "--vuln-db" in done.stderr, done.stderr
    done = run_cli(*base, "--find-links", str(tmp_path / "nowhere"), env=env)
    assert done.returncode == 2 and "--find-links" in done.stderr, done.stderr
