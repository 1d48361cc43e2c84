"""Unsigned bundles (``certify --unsigned``) and signing them apart (``sign_bundle``)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FINISHED, TOY_CATALOG, KeyHome, make_report, verify

from dufflebag_harness.outside.loader.digest import artifact_digest
from dufflebag_harness.reports import (
    BundleRefused,
    ReportInvalid,
    Signer,
    SigningError,
    canonical_bytes,
    sign_bundle,
    write_outputs,
)
from dufflebag_harness.reports.outputs import BUNDLE_FILES, OUTPUT_FILES

NOW = FINISHED + timedelta(days=2)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    ext = tmp_path / "ext"
    (ext / "analytics").mkdir(parents=True)
    (ext / "extension.toml").write_text('[extension]\nname = "analytics"\n')
    (ext / "analytics" / "__init__.py").write_text("VALUE = 1\n")
    return ext


Bundler = Callable[..., Path]


@pytest.fixture
def bundle(tmp_path: Path, artifact: Path) -> Bundler:
    """Write an unsigned bundle of ``artifact`` (statuses as for ``make_report``)."""

    def write(statuses: dict[str, str] | None = None, **kwargs: Any) -> Path:
        digest: Any = artifact_digest(artifact).to_json()
        report = make_report(statuses, fingerprint=None, artifact=digest, **kwargs)
        out = tmp_path / "bundle"
        write_outputs(report, out, None)
        return out

    return write


def _sign(folder: Path, artifact: Path, key: KeyHome, **kwargs: Any) -> Any:
    return sign_bundle(folder, artifact, Signer(key.home), catalogs=[TOY_CATALOG], now=NOW,
                       **kwargs)


def _snapshot(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    """The bundle's files, and what lies beside it (a staging folder left behind would)."""
    return ({p.name: p.read_bytes() for p in folder.iterdir()},
            sorted(p.name for p in folder.parent.iterdir()))


def _edit(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the bundle's report as a forger would, keeping it canonical."""
    path = folder / "report.json"
    report = json.loads(path.read_bytes())
    change(report)
    path.write_bytes(canonical_bytes(report))


# -- the bundle ---------------------------------------------------------------------------
def test_an_unsigned_bundle_says_so_everywhere(bundle: Bundler) -> None:
    folder = bundle()
    assert sorted(p.name for p in folder.iterdir()) == sorted(BUNDLE_FILES)
    report = json.loads((folder / "report.json").read_bytes())
    assert report["signer"] is None
    assert "**unsigned**" in (folder / "report.md").read_text()
    assert "Unsigned bundle" in (folder / "report.html").read_text()
    props = {p.get("name"): p.get("value") for p in
             ET.parse(folder / "junit.xml").getroot().iter("property")}
    assert props["signer"] == "unsigned"


def test_a_bundle_written_over_a_signed_report_removes_its_signature(
        tmp_path: Path, signing_key: KeyHome) -> None:
    out = tmp_path / "out"
    write_outputs(make_report(fingerprint=signing_key.fingerprint), out, Signer(signing_key.home))
    assert (out / "report.json.asc").is_file()
    write_outputs(make_report(fingerprint=None), out, None)
    assert not (out / "report.json.asc").exists()


def test_signer_and_signer_section_must_agree(tmp_path: Path, signing_key: KeyHome) -> None:
    with pytest.raises(ReportInvalid, match=r"^\$\.signer: names"):
        write_outputs(make_report(fingerprint=signing_key.fingerprint), tmp_path / "a", None)
    with pytest.raises(ReportInvalid, match=r"^\$\.signer\.fingerprint"):
        write_outputs(make_report(fingerprint=None), tmp_path / "b", Signer(signing_key.home))
    assert list(tmp_path.iterdir()) == []


def test_verify_refuses_an_unsigned_bundle(bundle: Bundler, signing_key: KeyHome) -> None:
    outcome = verify(bundle() / "report.json", signing_key.keyring, now=NOW)
    assert outcome.code == 10
    assert outcome.sentence.startswith("the report is an unsigned bundle (signer: null)")
    assert "dufflebag-cert sign" in outcome.sentence


# -- signing it ---------------------------------------------------------------------------
def test_a_signed_bundle_verifies_and_its_renderings_agree(
        bundle: Bundler, artifact: Path, signing_key: KeyHome) -> None:
    folder = bundle({"PE-02@sqlite": "fail"})
    signed = _sign(folder, artifact, signing_key)
    assert signed.report["signer"] == {"fingerprint": signing_key.fingerprint,
                                       "development_key": False}
    assert [f.name for f in signed.files] == list(OUTPUT_FILES)
    assert (folder / "report.json").read_bytes() == canonical_bytes(signed.report)
    outcome = verify(folder / "report.json", signing_key.keyring, artifact=artifact, now=NOW)
    assert outcome.code == 0, outcome.sentence
    assert outcome.sentence.endswith("artifact matches")
    assert f"signed by `{signing_key.fingerprint}`" in (folder / "report.md").read_text()
    assert "Unsigned" not in (folder / "report.html").read_text()
    assert signing_key.fingerprint in (folder / "report.html").read_text()
    props = {p.get("name"): p.get("value") for p in
             ET.parse(folder / "junit.xml").getroot().iter("property")}
    assert props["signer"] == signing_key.fingerprint
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def _fail_to_pass(report: dict[str, Any]) -> None:
    [failed] = [r for r in report["results"] if r["status"] == "fail"]
    failed.update(status="pass", reason="", evidence={})


def _fail_to_pass_and_level(report: dict[str, Any]) -> None:
    _fail_to_pass(report)
    report["level"] = "certified"


def _fail_to_pass_level_and_half_the_summary(report: dict[str, Any]) -> None:
    _fail_to_pass_and_level(report)
    report["summary"]["pass"] += 1
    report["summary"]["fail"] -= 1


def _drop_a_required_pair(report: dict[str, Any]) -> None:
    report["results"] = [r for r in report["results"] if r["check"] != "LC-01"]


@pytest.mark.parametrize(("change", "says"), [
    (_fail_to_pass, "$.level: 'failed' but the results give 'certified'"),
    (_fail_to_pass_and_level, "$.summary.pass: 4 but the results give 5"),
    (_fail_to_pass_level_and_half_the_summary,
     "$.summary.required_passed: 3 but the results give 4"),
    (_drop_a_required_pair, "required pairs without a result (gap): LC-01@sqlite"),
    (lambda r: r["results"][0].update(severity="advisory"), "$.results[0].severity"),
    (lambda r: r.update(level="excellent"), "$.level"),
])
def test_a_bundle_whose_results_were_edited_is_refused_and_left_as_it_was(
        bundle: Bundler, artifact: Path, signing_key: KeyHome,
        change: Callable[[dict[str, Any]], None], says: str) -> None:
    folder = bundle({"LC-01@sqlite": "fail"})
    _edit(folder, change)
    before = _snapshot(folder)
    with pytest.raises(BundleRefused) as refused:
        _sign(folder, artifact, signing_key)
    assert str(refused.value).startswith(f"{folder / 'report.json'}: ")
    assert says in str(refused.value)
    assert _snapshot(folder) == before


def test_a_re_serialized_bundle_is_refused(bundle: Bundler, artifact: Path,
                                          signing_key: KeyHome) -> None:
    folder = bundle()
    path = folder / "report.json"
    path.write_text(json.dumps(json.loads(path.read_bytes()), indent=2, sort_keys=True))
    with pytest.raises(BundleRefused, match="not in canonical form"):
        _sign(folder, artifact, signing_key)


def test_another_artifact_is_refused_with_what_differs(bundle: Bundler, artifact: Path,
                                                       signing_key: KeyHome) -> None:
    folder = bundle()
    before = _snapshot(folder)
    (artifact / "analytics" / "__init__.py").write_text("VALUE = 2\n")
    (artifact / "analytics" / "extra.py").write_text("")
    with pytest.raises(BundleRefused) as refused:
        _sign(folder, artifact, signing_key)
    assert str(refused.value) == (
        f"--artifact {artifact}: not the artifact the bundle certifies "
        "(changed: analytics/__init__.py; added: analytics/extra.py)")
    assert _snapshot(folder) == before


def test_an_edited_file_manifest_is_refused_even_with_the_right_digest(
        bundle: Bundler, artifact: Path, signing_key: KeyHome) -> None:
    folder = bundle()
    _edit(folder, lambda r: r["extension"]["artifact"]["files"].update(
        {"analytics/__init__.py": "0" * 64}))
    with pytest.raises(BundleRefused, match=r"changed: analytics/__init__\.py"):
        _sign(folder, artifact, signing_key)


def test_a_wheel_is_not_the_folder_it_came_from(bundle: Bundler, artifact: Path,
                                               signing_key: KeyHome, tmp_path: Path) -> None:
    import zipfile

    folder = bundle()
    wheel = tmp_path / "analytics-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("analytics/__init__.py", "VALUE = 1\n")
    with pytest.raises(BundleRefused, match="the report certifies a folder, but the artifact "
                                            "is a wheel"):
        _sign(folder, wheel, signing_key)


def test_an_unknown_catalog_is_refused(bundle: Bundler, artifact: Path,
                                       signing_key: KeyHome) -> None:
    folder = bundle()
    with pytest.raises(BundleRefused, match=r"\$\.catalog\.version: unknown catalog version "
                                            r"sha256:[0-9a-f]{64}; this harness knows sha256:"):
        sign_bundle(folder, artifact, Signer(signing_key.home), now=NOW)


@pytest.mark.parametrize(("prepare", "says"), [
    (lambda f: (f / "report.json").unlink(), "report.json: no such file"),
    (lambda f: (f / "report.json").write_text("{"), "report.json: not valid JSON (line 1"),
    (lambda f: (f / "report.json").write_text("[]"), "not a report (a JSON object)"),
])
def test_a_folder_that_is_no_bundle_is_refused(bundle: Bundler, artifact: Path,
                                               signing_key: KeyHome,
                                               prepare: Callable[[Path], None],
                                               says: str) -> None:
    folder = bundle()
    prepare(folder)
    with pytest.raises(BundleRefused, match=re.escape(says)):
        _sign(folder, artifact, signing_key)
    with pytest.raises(BundleRefused, match="no such folder"):
        _sign(folder / "nope", artifact, signing_key)


def test_a_signed_report_is_not_signed_again(tmp_path: Path, artifact: Path,
                                             signing_key: KeyHome) -> None:
    digest: Any = artifact_digest(artifact).to_json()
    out = tmp_path / "out"
    write_outputs(make_report(fingerprint=signing_key.fingerprint, artifact=digest), out,
                  Signer(signing_key.home))
    with pytest.raises(BundleRefused, match=f"already signed by {signing_key.fingerprint}"):
        _sign(out, artifact, signing_key)


def test_an_expired_bundle_is_refused(bundle: Bundler, artifact: Path,
                                      signing_key: KeyHome) -> None:
    folder = bundle(validity_days=1)
    with pytest.raises(BundleRefused, match="the bundle expired on 2026-11-21T12:00:00Z"):
        _sign(folder, artifact, signing_key)


def test_a_key_that_cannot_sign_writes_nothing(bundle: Bundler, artifact: Path,
                                               signing_key: KeyHome) -> None:
    folder = bundle()
    before = _snapshot(folder)
    with pytest.raises(SigningError, match="not a usable"):
        sign_bundle(folder, artifact, Signer(signing_key.home, fingerprint="B" * 40),
                    catalogs=[TOY_CATALOG], now=NOW)
    assert _snapshot(folder) == before


def test_signing_a_bundle_locates_sarif_results_from_the_repository_root(
        tmp_path: Path, bundle: Bundler, artifact: Path, signing_key: KeyHome) -> None:
    folder = bundle({"LC-01@sqlite": "fail"})
    _sign(folder, artifact, signing_key, sarif_root=tmp_path)
    log = json.loads((folder / "report.sarif").read_text("utf-8"))
    (result,) = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "ext/extension.toml", "uriBaseId": "%SRCROOT%"}
