"""write_outputs: every file, signed canonical bytes, and all-or-nothing publication."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FINISHED, KeyHome, make_report, verify

from dufflebag_harness.reports import (
    OUTPUT_FILES,
    ReportInvalid,
    Signer,
    SigningError,
    canonical_bytes,
    write_outputs,
)

NOW = FINISHED + timedelta(days=1)


class BrokenSigner:
    """A signer whose key is configured but whose signing fails (e.g. gpg died)."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    def sign(self, data: bytes) -> str:
        raise SigningError("gpg did not sign")


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_writes_every_output_and_the_signed_report_verifies(tmp_path: Path,
                                                            signing_key: KeyHome) -> None:
    report = make_report({"PE-02@sqlite": "fail"}, fingerprint=signing_key.fingerprint)
    out = tmp_path / "certification" / "analytics-1.0.0"
    files = write_outputs(report, out, Signer(signing_key.home))
    assert [f.name for f in files] == ["report.json", "report.json.asc", "report.html",
                                       "report.md", "junit.xml", "report.sarif", "badge.svg"]
    assert all(f.parent == out and f.is_file() for f in files)
    assert (out / "report.json").read_bytes() == canonical_bytes(report)
    assert verify(out / "report.json", signing_key.keyring, now=NOW).code == 0
    ET.parse(out / "junit.xml")
    ET.parse(out / "badge.svg")
    sarif = json.loads((out / "report.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["PE-02"]
    assert _leftovers(out.parent) == []


def test_an_invalid_report_writes_nothing(tmp_path: Path, signing_key: KeyHome) -> None:
    report = make_report(fingerprint=signing_key.fingerprint)
    report["level"] = "failed"
    with pytest.raises(ReportInvalid, match=r"^\$\.level"):
        write_outputs(report, tmp_path / "out", Signer(signing_key.home))
    assert list(tmp_path.iterdir()) == []


def test_a_report_naming_another_signer_is_refused(tmp_path: Path, signing_key: KeyHome,
                                                   other_key: KeyHome) -> None:
    report = make_report(fingerprint=other_key.fingerprint)
    with pytest.raises(ReportInvalid, match=r"^\$\.signer\.fingerprint"):
        write_outputs(report, tmp_path / "out", Signer(signing_key.home))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_leaves_the_previous_outputs_untouched(
    tmp_path: Path, signing_key: KeyHome
) -> None:
    out = tmp_path / "out"
    old = make_report({"IS-01@postgresql": "skipped"}, fingerprint=signing_key.fingerprint)
    write_outputs(old, out, Signer(signing_key.home))
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    new = make_report(fingerprint=signing_key.fingerprint)
    with pytest.raises(SigningError):
        write_outputs(new, out, BrokenSigner(signing_key.fingerprint))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_a_failed_first_write_leaves_no_folder(tmp_path: Path, signing_key: KeyHome) -> None:
    report = make_report(fingerprint=signing_key.fingerprint)
    with pytest.raises(SigningError):
        write_outputs(report, tmp_path / "out", BrokenSigner(signing_key.fingerprint))
    assert list(tmp_path.iterdir()) == []


def test_a_successful_rewrite_replaces_the_report_and_keeps_other_files(
    tmp_path: Path, signing_key: KeyHome
) -> None:
    out = tmp_path / "out"
    signer = Signer(signing_key.home)
    write_outputs(make_report({"IS-01@postgresql": "skipped"},
                              fingerprint=signing_key.fingerprint), out, signer)
    (out / "notes.txt").write_text("mine")
    new = make_report(fingerprint=signing_key.fingerprint)
    write_outputs(new, out, signer)
    assert sorted(p.name for p in out.iterdir()) == sorted([*OUTPUT_FILES, "notes.txt"])
    assert (out / "report.json").read_bytes() == canonical_bytes(new)
    assert verify(out / "report.json", signing_key.keyring, now=NOW).code == 0
    assert "certified" in (out / "badge.svg").read_text()


def test_an_out_path_that_is_a_file_is_refused(tmp_path: Path, signing_key: KeyHome) -> None:
    target = tmp_path / "out"
    target.write_text("x")
    with pytest.raises(OSError, match="not a folder"):
        write_outputs(make_report(fingerprint=signing_key.fingerprint), target,
                      Signer(signing_key.home))
    assert target.read_text() == "x"
