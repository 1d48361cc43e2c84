"""Signing apart from running: ``certify --unsigned`` in one job, ``sign`` in another."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _cli import ROOT, run_cli, write_extension
from _once import once_per_run

from dufflebag_harness.reports import canonical_bytes

ANALYTICS = ROOT / "sample_extensions" / "analytics"
WEBHOOKS = ROOT / "sample_extensions" / "webhooks"
#: Quick and small: the two-step path is what is tested here, not the checks.
ONLY = ("--profile", "quick", "--only", "LC-01,LC-02,RT-01")

#: An extension whose metadata disagrees with its manifest: LC-01 fails.
MISMATCHED = """
    from dufflebag_harness.sdk import Extension, Metadata

    class Ext(Extension):
        metadata = Metadata(name="mismatched", version="9.9.9", host_api=">=1.0,<2",
                            description="test extension", license="MIT")
"""


def _bundle(path: Path, out: Path, *extra: str, code: int = 3) -> Path:
    made = run_cli("certify", str(path), "--out", str(out), "--unsigned", *extra)
    assert made.returncode == code, made.stdout + made.stderr
    assert "Unsigned bundle:" in made.stdout and "dufflebag-cert sign" in made.stdout
    return out


@pytest.fixture(scope="module")
def analytics_bundle(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Made once per run; each test signs a copy of it."""
    with once_per_run(tmp_path_factory, worker_id, "analytics-bundle") as base:
        if not (base / "analytics" / "report.json").is_file():
            _bundle(ANALYTICS, base / "analytics", *ONLY)
    return base / "analytics"


@pytest.fixture
def bundle(analytics_bundle: Path, tmp_path: Path) -> Path:
    """A fresh copy of the analytics bundle (sign writes in place)."""
    return Path(shutil.copytree(analytics_bundle, tmp_path / "bundle"))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_certify_unsigned_writes_a_bundle_that_verify_refuses(bundle: Path,
                                                              tmp_path: Path) -> None:
    assert not (bundle / "report.json.asc").exists()
    report = json.loads((bundle / "report.json").read_bytes())
    assert report["signer"] is None
    assert (bundle / "report.json").read_bytes() == canonical_bytes(report)
    keyring = tmp_path / "trusted.asc"  # refused before any key is looked at
    keyring.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    refused = run_cli("verify", str(bundle / "report.json"), "--keyring", str(keyring))
    assert refused.returncode == 10, refused.stdout + refused.stderr
    assert "rejected: the report is an unsigned bundle (signer: null)" in refused.stderr


def test_the_two_step_path_gives_a_report_verify_accepts(bundle: Path,
                                                         tmp_path: Path) -> None:
    signed = run_cli("sign", str(bundle), "--artifact", str(ANALYTICS))
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert signed.stdout.startswith(f"Signed: {bundle / 'report.json'} (analytics 1.0.0, "
                                    "provisional, signed by ")
    assert "Traceback" not in signed.stderr
    report = json.loads((bundle / "report.json").read_bytes())
    assert report["signer"]["fingerprint"] in signed.stdout
    assert (bundle / "report.json.asc").is_file()
    assert f"signed by `{report['signer']['fingerprint']}`" in (bundle / "report.md").read_text()
    keyring = tmp_path / "trusted.asc"
    exported = run_cli("keys", "export", "--out", str(keyring))
    assert exported.returncode == 0, exported.stderr
    ok = run_cli("verify", str(bundle / "report.json"), "--keyring", str(keyring),
                 "--artifact", str(ANALYTICS), "--require-level", "provisional")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "artifact matches" in ok.stdout
    again = run_cli("sign", str(bundle), "--artifact", str(ANALYTICS))
    assert again.returncode == 2
    assert "already signed by" in again.stderr


def test_another_artifact_is_refused_and_nothing_is_written(bundle: Path) -> None:
    before = _files(bundle)
    refused = run_cli("sign", str(bundle), "--artifact", str(WEBHOOKS))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"error: --artifact {WEBHOOKS}: not the artifact the bundle "
                           "certifies (changed: ")
    assert _files(bundle) == before


@pytest.fixture(scope="module")
def failed_bundle(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Made once per run; each test edits a copy of it."""
    with once_per_run(tmp_path_factory, worker_id, "failed-bundle") as parent:
        folder = parent / "bundle"
        if not (folder / "report.json").is_file():
            ext = write_extension(parent, "mismatched", MISMATCHED)
            _bundle(ext, folder, "--only", "LC-01,LC-02", code=1)
    report = json.loads((folder / "report.json").read_bytes())
    assert report["level"] == "failed"
    return folder


def _forge(folder: Path, level: str | None) -> None:
    """Turn the failed LC-01 into a pass (and the level into ``level``), canonically."""
    path = folder / "report.json"
    report = json.loads(path.read_bytes())
    [result] = [r for r in report["results"] if r["check"] == "LC-01"]
    assert result["status"] == "fail"
    result.update(status="pass", reason="", evidence={})
    if level is not None:
        report["level"] = level
    path.write_bytes(canonical_bytes(report))


@pytest.mark.parametrize(("level", "says"), [
    (None, "$.level: 'failed' but the results give 'provisional'"),
    ("provisional", "$.summary.pass: 1 but the results give 2"),
])
def test_a_bundle_whose_results_were_edited_is_refused(
        failed_bundle: Path, tmp_path: Path, level: str | None, says: str) -> None:
    folder = Path(shutil.copytree(failed_bundle, tmp_path / "bundle"))
    _forge(folder, level)
    before = _files(folder)
    refused = run_cli("sign", str(folder), "--artifact", str(failed_bundle.parent / "mismatched"))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.splitlines() == [f"error: {folder / 'report.json'}: {says}"]
    assert _files(folder) == before


def test_sign_writes_sarif_locations_relative_to_the_root_given(failed_bundle: Path,
                                                                tmp_path: Path) -> None:
    folder = Path(shutil.copytree(failed_bundle, tmp_path / "bundle"))
    artifact = failed_bundle.parent / "mismatched"
    signed = run_cli("sign", str(folder), "--artifact", str(artifact),
                     "--sarif-root", str(artifact.parent))
    assert signed.returncode == 0, signed.stdout + signed.stderr
    sarif = json.loads((folder / "report.sarif").read_text())
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]}
    assert uris == {"mismatched/extension.toml"}


@pytest.mark.parametrize(("make", "says"), [
    (lambda b: b / "missing", "no such folder"),
    (lambda b: (b / "report.json").unlink() or b, "report.json: no such file"),
])
def test_a_folder_that_is_not_a_bundle_is_refused(bundle: Path, make: object,
                                                  says: str) -> None:
    target = make(bundle)  # type: ignore[operator]
    refused = run_cli("sign", str(target), "--artifact", str(ANALYTICS))
    assert refused.returncode == 2
    assert says in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


def test_sign_needs_the_artifact() -> None:
    refused = run_cli("sign", "somewhere")
    assert refused.returncode == 2
    assert "Missing option '--artifact'" in refused.stderr


def test_the_unsigned_job_needs_no_gpg_and_makes_no_key_home(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"  # the sandbox's tools, and no gpg
    bindir.mkdir()
    for tool in ("bwrap", "prlimit"):
        if found := shutil.which(tool):
            (bindir / tool).symlink_to(found)
    home = tmp_path / "gnupg"
    made = run_cli("certify", str(ANALYTICS), "--out", str(tmp_path / "bundle"), "--unsigned",
                   "--only", "LC-02", env={"PATH": str(bindir), "DUFFLEBAG_GNUPGHOME": str(home)})
    assert made.returncode == 3, made.stdout + made.stderr
    assert json.loads((tmp_path / "bundle" / "report.json").read_bytes())["signer"] is None
    assert not home.exists()
