"""The README's main job, tried as a user would: certify analytics, verify, tamper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import ROOT, run_cli
from _once import once_per_run

ANALYTICS = ROOT / "sample_extensions" / "analytics"

#: Full-profile certification.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One certification for the whole run, whichever workers run the module's tests; the
    signer's public key, as ``keys export`` gives it, is ``trusted.asc`` beside it (each
    worker has its own signing key)."""
    with once_per_run(tmp_path_factory, worker_id, "end-to-end") as folder:
        out = folder / "analytics"
        if not (folder / "trusted.asc").is_file():
            result = run_cli("certify", str(ANALYTICS), "--out", str(out))
            assert result.returncode == 0, result.stdout + result.stderr
            assert "Level: certified" in result.stderr
            exported = run_cli("keys", "export", "--out", str(folder / "trusted.asc"))
            assert exported.returncode == 0, exported.stderr
    return out


def test_outputs_are_written(certified: Path) -> None:
    names = {p.name for p in certified.iterdir()}
    assert {"report.json", "report.json.asc", "report.html", "report.md", "junit.xml"} <= names
    report = json.loads((certified / "report.json").read_text())
    assert report["level"] == "certified"
    assert report["extension"]["name"] == "analytics"
    assert all(r["status"] == "pass" for r in report["results"] if r["severity"] == "required")


def test_verify_accepts_with_exported_key_and_rejects_a_flipped_byte(
    certified: Path, tmp_path: Path
) -> None:
    keyring = certified.parent / "trusted.asc"
    ok = run_cli("verify", str(certified / "report.json"), "--keyring", str(keyring),
                 "--artifact", str(ANALYTICS), "--require-level", "provisional")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    tampered = tmp_path / "report.json"
    data = bytearray((certified / "report.json").read_bytes())
    idx = data.index(b'"analytics"') + 1
    data[idx] = ord("A")
    tampered.write_bytes(bytes(data))
    bad = run_cli("verify", str(tampered), "--keyring", str(keyring),
                  "--signature", str(certified / "report.json.asc"))
    assert bad.returncode == 10, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_report_records_the_sandbox_and_verify_accepts_it(certified: Path) -> None:
    keyring = certified.parent / "trusted.asc"
    report = json.loads((certified / "report.json").read_text())
    sandbox = report["environment"]["worker"]["sandbox"]
    assert sandbox["tool"] == "bubblewrap" and sandbox["network"] == "none"
    assert {"user", "pid", "mnt", "net", "ipc"} <= set(sandbox["namespaces"])
    assert report["environment"]["worker"]["uid"] == sandbox["uid"] != 0
    visible = {m["path"] for m in sandbox["visible"]}
    assert not any(p == "/root" or p.startswith("/root/.gnupg") or "dbgpg" in p for p in visible)
    result = run_cli("verify", str(certified / "report.json"), "--keyring", str(keyring),
                     "--require-level", "certified")
    assert result.returncode == 0, result.stdout + result.stderr
