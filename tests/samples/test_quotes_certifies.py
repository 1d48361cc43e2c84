"""The dependency sample ``quotes`` certifies from a wheelhouse the tests build, offline;
a second certification reuses the environment the first built."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _cli import ROOT, run_cli
from _wheelhouse import quotes_wheelhouse

pytestmark = pytest.mark.slow


def test_quotes_certifies_offline_and_reuses_its_environment(tmp_path: Path) -> None:
    house = quotes_wheelhouse(tmp_path / "wheelhouse")
    env = {"DUFFLEBAG_CACHE_DIR": str(tmp_path / "cache")}
    args = ("certify", str(ROOT / "sample_extensions" / "quotes"), "--find-links", str(house),
            "--no-index", "--vuln-db", str(ROOT / "tests" / "data" / "osv"))
    first = run_cli(*args, "--out", str(tmp_path / "one"), env=env, timeout=1200)
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    not_passed = [f"{r['check']}@{r['backend']}: {r['status']} {r['reason'][:200]}"
                  for r in report["results"]
                  if r["severity"] == "required" and r["status"] != "pass"]
    assert first.returncode == 0, (first.stdout[-3000:], first.stderr[-3000:], not_passed)
    assert report["level"] == "certified" and not_passed == []
    deps = report["dependencies"]
    assert {(p["name"], p["version"], p["licence"], p["direct"]) for p in deps["packages"]} == {
        ("python-slugify", "9.0.0", "MIT", True), ("tabulate", "0.10.0", "MIT", True),
        ("text-unidecode", "1.3", "Artistic-1.0 OR GPL-2.0-or-later", False)}
    assert deps["environment"]["reused"] is False
    assert (tmp_path / "one" / "sbom.cdx.json").is_file()
    dp = {r["check"]: r["status"] for r in report["results"] if r["check"].startswith("DP-")}
    assert dp == {"DP-01": "pass", "DP-02": "skipped", "DP-03": "pass", "DP-04": "pass"}
    keyring = tmp_path / "key.asc"
    assert run_cli("keys", "export", "--out", str(keyring)).returncode == 0
    verified = run_cli("verify", str(tmp_path / "one" / "report.json"), "--keyring",
                       str(keyring), "--require-level", "certified")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # the environment is made before any check runs: one check is enough to see it reused
    second = run_cli(*args, "--out", str(tmp_path / "two"), "--profile", "quick",
                     "--only", "LC-01", env=env, timeout=1200)
    assert second.returncode == 3, second.stdout[-2000:] + second.stderr[-2000:]
    again = json.loads((tmp_path / "two" / "report.json").read_text())["dependencies"]
    assert again["environment"]["reused"] is True
    assert again["environment"]["key"] == deps["environment"]["key"]
    assert again["environment"]["build_s"] < deps["environment"]["build_s"]
    envs = [p for p in (tmp_path / "cache" / "envs").iterdir() if not p.name.startswith(".")]
    assert len(envs) == 1  # one environment, built once
    # what the worker ran with: its interpreter imports the dependencies and the harness
    done = subprocess.run([str(envs[0] / "bin" / "python"), "-I", "-c",
                           "import slugify, tabulate, dufflebag_harness.sdk"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
