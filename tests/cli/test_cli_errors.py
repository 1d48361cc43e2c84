"""Small mistakes on the command line: one line naming what and where, the right exit code,
found before any work, nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import ROOT, run_cli
from _once import once_per_run

ANALYTICS = ROOT / "sample_extensions" / "analytics"
ROGUE = ROOT / "sample_extensions" / "rogues" / "metadata_mismatch"
QUICK = ("--profile", "quick", "--only", "LC-01")


def _refused(result: object, *needles: str, code: int = 2) -> str:
    rc, err = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert rc == code, err
    assert "Traceback" not in err and "internal error" not in err, err
    for needle in needles:
        assert needle in err, err
    return str(err)


# -- certify --out -----------------------------------------------------------------------
def test_out_naming_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    t0 = time.monotonic()
    r = run_cli("certify", str(ANALYTICS), *QUICK, "--out", str(target))
    err = _refused(r, f"--out {target}", "not a folder")
    assert "Certifying" not in err  # no check ran
    assert time.monotonic() - t0 < 30
    assert target.read_text() == "keep me"


def test_out_below_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run_cli("certify", str(ANALYTICS), *QUICK, "--out", str(blocker / "out"))
    _refused(r, f"--out {blocker / 'out'}", f"{blocker} is not a folder")


def test_out_where_nothing_can_be_created_is_refused(tmp_path: Path) -> None:
    # sysfs: no one, root included, creates folders there
    r = run_cli("certify", str(ANALYTICS), *QUICK, "--out", "/sys/dufflebag-out")
    err = _refused(r, "--out /sys/dufflebag-out", "cannot create files in /sys")
    assert "Certifying" not in err


# -- certify --only -----------------------------------------------------------------------
def test_only_is_case_insensitive_and_recorded_as_the_catalog_spells_it(tmp_path: Path) -> None:
    r = run_cli("certify", str(ANALYTICS), "--profile", "quick",
                "--only", "lc-01,LC-01,rt-01@SQLite", "--out", str(tmp_path / "out"))
    assert r.returncode == 3, r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["run"]["only"] == ["LC-01", "RT-01@sqlite"]
    ran = {f"{x['check']}@{x['backend']}" for x in report["results"] if x["status"] == "pass"}
    assert ran == {"LC-01@sqlite", "RT-01@sqlite"}


def test_an_unknown_check_is_named_with_close_ids_and_the_areas(tmp_path: Path) -> None:
    r = run_cli("certify", str(ANALYTICS), "--only", "LC-01,lc-1", "--out", str(tmp_path / "out"))
    err = _refused(r, "--only", "unknown check 'LC-1'", "did you mean LC-01",
                   "LC lifecycle", "RT routing", "dufflebag-cert checks")
    assert err.count("\n") == 1  # one line
    assert not (tmp_path / "out").exists()


def test_only_naming_no_check_is_refused_not_taken_for_the_whole_profile(
        tmp_path: Path) -> None:
    r = run_cli("certify", str(ANALYTICS), "--only", " , ", "--out", str(tmp_path / "out"))
    _refused(r, "--only", "names no check")
    assert not (tmp_path / "out").exists()


def test_an_unknown_backend_names_the_ones_the_check_runs_on(tmp_path: Path) -> None:
    r = run_cli("certify", str(ANALYTICS), "--only", "LC-01@postgres",
                "--out", str(tmp_path / "out"))
    _refused(r, "check LC-01 does not run on backend 'postgres' (it runs on sqlite)")


# -- certify --sarif-root -----------------------------------------------------------------
def test_sarif_root_makes_locations_relative_to_it(tmp_path: Path) -> None:
    root = ROOT / "sample_extensions"
    r = run_cli("certify", str(ROGUE), *QUICK, "--sarif-root", str(root),
                "--out", str(tmp_path / "out"))
    assert r.returncode == 1, r.stderr
    sarif = json.loads((tmp_path / "out" / "report.sarif").read_text())
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]}
    assert uris == {"rogues/metadata_mismatch/extension.toml"}


def test_a_sarif_root_outside_which_the_extension_lies_is_refused_before_any_work(
        tmp_path: Path) -> None:
    r = run_cli("certify", str(ANALYTICS), *QUICK, "--sarif-root", str(tmp_path),
                "--out", str(tmp_path / "out"))
    err = _refused(r, "--sarif-root", "does not contain the extension folder")
    assert "Certifying" not in err and not (tmp_path / "out").exists()


# -- keys -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def key_home() -> Iterator[dict[str, str]]:
    """A short GnuPG home with one key, as the environment of the commands."""
    home = Path(tempfile.mkdtemp(prefix="dbck", dir="/tmp"))
    env = {"DUFFLEBAG_GNUPGHOME": str(home)}
    try:
        made = run_cli("keys", "init", "--expire", "30d", env=env)
        assert made.returncode == 0, made.stderr
        yield env
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def test_keys_export_to_a_missing_folder_names_the_path_and_the_reason(
        key_home: dict[str, str]) -> None:
    r = run_cli("keys", "export", "--out", "/missing/dir/x", env=key_home)
    _refused(r, "error: --out /missing/dir/x: No such file or directory")


def test_keys_export_onto_a_folder_names_it(key_home: dict[str, str], tmp_path: Path) -> None:
    r = run_cli("keys", "export", "--out", str(tmp_path), env=key_home)
    _refused(r, f"error: --out {tmp_path}: Is a directory")


def test_keys_with_a_home_below_a_file_names_the_home(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("")
    r = run_cli("keys", "list", env={"DUFFLEBAG_GNUPGHOME": str(blocker / "home")})
    _refused(r, str(blocker / "home"), "Not a directory")


# -- verify -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_reports(tmp_path_factory: pytest.TempPathFactory,
                worker_id: str) -> tuple[Path, Path, Path]:
    """Two signed reports of the same extension (same key) and the keyring to verify them,
    made once per run whichever workers ask."""
    with once_per_run(tmp_path_factory, worker_id, "two-reports") as base:
        if not (base / "trusted.asc").is_file():
            for name in ("a", "b"):
                made = run_cli("certify", str(ANALYTICS), *QUICK, "--out", str(base / name))
                assert made.returncode == 3, made.stderr
            exported = run_cli("keys", "export", "--out", str(base / "trusted.asc"))
            assert exported.returncode == 0, exported.stderr
    return base / "a", base / "b", base / "trusted.asc"


def test_verify_without_the_signature_beside_the_report_is_a_usage_error(
        two_reports: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, _, keyring = two_reports
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(a / "report.json", alone / "report.json")
    r = run_cli("verify", str(alone / "report.json"), "--keyring", str(keyring),
                "--require-level", "provisional")
    _refused(r, f"no signature at {alone / 'report.json.asc'}")


def test_verify_with_another_reports_signature_says_it_does_not_match(
        two_reports: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, b, keyring = two_reports
    r = run_cli("verify", str(a / "report.json"), "--signature", str(b / "report.json.asc"),
                "--keyring", str(keyring), "--require-level", "provisional")
    err = _refused(r, "signature does not match this report", code=10)
    assert "changed after it was signed" not in err
    both = run_cli("verify", str(a / "report.json"), "--keyring", str(keyring),
                   "--require-level", "provisional")
    assert both.returncode == 0, both.stderr  # the pair that belongs together verifies
