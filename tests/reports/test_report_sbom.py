"""The SBOM beside a report: made from it, bound by digest in the signed JSON, checked
by verify (a changed or missing SBOM is refused)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FINISHED, KeyHome, make_report, verify

from dufflebag_harness.reports import ReportInvalid, Signer, write_outputs
from dufflebag_harness.reports.render import render_html, render_markdown
from dufflebag_harness.reports.sbom import SBOM_NAME, attach_sbom

NOW = FINISHED + timedelta(days=3)
PACKAGES = [
    {"name": "python-slugify", "version": "9.0.0", "licence": "MIT", "direct": True,
     "wheel_sha256": "a" * 64, "top_level": ["slugify"]},
    {"name": "text-unidecode", "version": "1.3", "licence": "Artistic-1.0 OR GPL-2.0-or-later",
     "direct": False, "wheel_sha256": "b" * 64, "top_level": ["text_unidecode"]},
    {"name": "mystery", "version": "0.1", "licence": "NOASSERTION", "direct": True,
     "wheel_sha256": "", "top_level": ["mystery"]},
]


def _with_dependencies(fingerprint: str | None) -> dict[str, Any]:
    report = dict(make_report(fingerprint=fingerprint))
    report["dependencies"] = {
        "environment": {"tool": "uv 0.13.9", "reused": False, "source": "pyproject.toml"},
        "packages": copy.deepcopy(PACKAGES),
        "licence_policy": {"file": "policy.toml", "digest": "sha256:" + "c" * 64,
                           "verdicts": {"text-unidecode": "not allowed: GPL-2.0-or-later is "
                                                          "denied"}},
        "vulnerabilities": {"source": "OSV export osv (1 records)", "skipped": "",
                            "findings": [{"id": "PYSEC-0000-1", "package": "mystery",
                                          "version": "0.1", "severity": "high",
                                          "origin": "inherited", "fixed_in": ["0.2"]}]},
    }
    attach_sbom(report)
    return report


Written = Callable[[], Path]


@pytest.fixture
def written(tmp_path: Path, signing_key: KeyHome) -> Path:
    signer = Signer(signing_key.home)
    write_outputs(_with_dependencies(signer.fingerprint), tmp_path / "out", signer)
    return tmp_path / "out" / "report.json"


def test_the_sbom_is_written_beside_the_report_and_bound_by_digest(written: Path,
                                                                  signing_key: KeyHome) -> None:
    import hashlib

    sbom = written.parent / SBOM_NAME
    report = json.loads(written.read_text())
    assert report["dependencies"]["sbom"]["digest"] == \
        "sha256:" + hashlib.sha256(sbom.read_bytes()).hexdigest()
    bom = json.loads(sbom.read_text())
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["name"] == "analytics"
    listed = {c["name"]: c for c in bom["components"]}
    assert set(listed) == {"python-slugify", "text-unidecode", "mystery"}
    assert listed["python-slugify"]["purl"] == "pkg:pypi/python-slugify@9.0.0"
    assert listed["text-unidecode"]["licenses"] == [
        {"expression": "Artistic-1.0 OR GPL-2.0-or-later"}]
    assert "licenses" not in listed["mystery"]  # none stated: no claim made
    assert listed["python-slugify"]["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    assert verify(written, signing_key.keyring, now=NOW).code == 0


def test_verify_refuses_a_changed_sbom(written: Path, signing_key: KeyHome) -> None:
    sbom = written.parent / SBOM_NAME
    sbom.write_text(sbom.read_text().replace('"9.0.0"', '"9.0.1"'))
    outcome = verify(written, signing_key.keyring, now=NOW)
    assert outcome.code == 13
    assert "SBOM" in outcome.sentence and "not the SBOM the report was signed with" in \
        outcome.sentence


def test_verify_refuses_a_missing_sbom(written: Path, signing_key: KeyHome) -> None:
    (written.parent / SBOM_NAME).unlink()
    outcome = verify(written, signing_key.keyring, now=NOW)
    assert outcome.code == 13 and "cannot be read" in outcome.sentence


def test_a_report_whose_digest_is_not_its_sbom_is_not_written(tmp_path: Path) -> None:
    report = _with_dependencies(None)
    report["dependencies"]["packages"][0]["version"] = "9.0.1"  # after the digest was taken
    with pytest.raises(ReportInvalid, match="sbom"):
        write_outputs(report, tmp_path / "out", None)
    assert not (tmp_path / "out").exists()


def test_a_report_without_dependencies_has_no_sbom(tmp_path: Path) -> None:
    files = write_outputs(make_report(fingerprint=None), tmp_path / "out", None)
    assert SBOM_NAME not in {f.name for f in files}
    assert not (tmp_path / "out" / SBOM_NAME).exists()


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_the_renderers_show_the_dependencies(render: Callable[[Any], str]) -> None:
    text = render(_with_dependencies(None)).replace("\\", "")  # Markdown escapes, unshown
    for fragment in ("python-slugify", "9.0.0", "Artistic-1.0 OR GPL-2.0-or-later",
                     "dependency of a dependency", "NOASSERTION", "PYSEC-0000-1",
                     "GPL-2.0-or-later is denied", "inherited"):
        assert fragment in text, fragment


def test_the_renderers_say_nothing_of_dependencies_when_none_are_declared() -> None:
    assert "Python dependencies" not in render_markdown(make_report(fingerprint=None))
    assert "Python dependencies" not in render_html(make_report(fingerprint=None))
