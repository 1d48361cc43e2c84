"""Bad input: one clear line naming what and where, exit 2, no traceback, no report."""

from __future__ import annotations

import shutil
from pathlib import Path

from _cli import ROOT, run_cli, write_extension


def _assert_clean_refusal(result: object, *needles: str) -> None:
    code, err = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_missing_path(tmp_path: Path) -> None:
    r = run_cli("certify", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    _assert_clean_refusal(r, "no such file or directory")
    assert not (tmp_path / "out").exists()


def test_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "ext").mkdir()
    r = run_cli("certify", str(tmp_path / "ext"), "--out", str(tmp_path / "out"))
    _assert_clean_refusal(r, "extension.toml")
    assert not (tmp_path / "out").exists()


def test_invalid_name_names_the_field(tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    shutil.copytree(ROOT / "harness" / "outside" / "runner" / "companion", ext)
    toml = ext / "extension.toml"
    toml.write_text(toml.read_text().replace('name = "companion"', 'name = "Bad-Name"', 1))
    r = run_cli("certify", str(ext), "--out", str(tmp_path / "out"))
    _assert_clean_refusal(r, "[extension].name", "Bad-Name")
    assert not (tmp_path / "out").exists()


def test_unknown_check_in_only(tmp_path: Path) -> None:
    ext = ROOT / "harness" / "outside" / "runner" / "companion"
    r = run_cli("certify", str(ext), "--only", "XX-01", "--out", str(tmp_path / "out"))
    _assert_clean_refusal(r, "--only", "XX-01")


def test_bad_profile_is_a_usage_error(tmp_path: Path) -> None:
    ext = ROOT / "harness" / "outside" / "runner" / "companion"
    r = run_cli("certify", str(ext), "--profile", "fast")
    _assert_clean_refusal(r, "--profile")


def test_no_gpg_on_the_machine(tmp_path: Path) -> None:
    ext = ROOT / "harness" / "outside" / "runner" / "companion"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    r = run_cli("certify", str(ext), "--out", str(tmp_path / "out"),
                env={"PATH": str(bindir)})
    _assert_clean_refusal(r, "gpg")
    assert not (tmp_path / "out").exists()


def test_entry_that_fails_to_import_fails_certification_with_its_reason(tmp_path: Path) -> None:
    ext = write_extension(tmp_path, "broken", """
        raise ImportError("missing optional dependency 'frobnicate'")
    """)
    scratch = tmp_path / "tmp"  # the run's TMPDIR: what it leaves there is a leak
    scratch.mkdir()
    r = run_cli("certify", str(ext), "--out", str(tmp_path / "out"), "--only", "LC-01,LC-03",
                env={"TMPDIR": str(scratch)})
    assert r.returncode == 1, r.stderr
    assert "frobnicate" in r.stderr
    assert "Traceback" not in r.stderr
    # the run ended right after its first check, while its reference worker was still
    # starting: that worker's folders go too
    assert sorted(p.name for p in scratch.iterdir()) == []
