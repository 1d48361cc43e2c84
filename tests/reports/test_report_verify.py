"""``verify``: every exit code, from a report signed in a throwaway GnuPG home."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    FINISHED,
    SANDBOX,
    KeyHome,
    catalog_toml,
    make_report,
    remove_home,
    running_agents,
    short_home,
    verify,
)

from dufflebag_harness.reports import (
    Signer,
    canonical_bytes,
    ensure_signing_key,
    export_keys,
    write_outputs,
)
from dufflebag_harness.reports._gpg import kill_agent
from dufflebag_harness.reports.model import Report

NOW = FINISHED + timedelta(days=3)
Writer = Callable[..., Path]


@pytest.fixture
def signed(tmp_path: Path, signing_key: KeyHome) -> Writer:
    """Write a report signed by ``signing_key``; ``raw`` bypasses validation (hostile input)."""

    def write(report: Report | None = None, *, raw: bytes | None = None,
              home: Path | None = None, name: str = "out") -> Path:
        home = home or signing_key.home
        signer = Signer(home)
        if raw is None:
            report = report or make_report(fingerprint=signer.fingerprint)
            write_outputs(report, tmp_path / name, signer)
            return tmp_path / name / "report.json"
        folder = tmp_path / name
        folder.mkdir()
        (folder / "report.json").write_bytes(raw)
        (folder / "report.json.asc").write_text(signer.sign(raw))
        return folder / "report.json"

    return write


def _raw(report: Report | dict[str, Any]) -> bytes:
    return json.dumps(report, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def test_a_good_report_verifies(signed: Writer, signing_key: KeyHome) -> None:
    outcome = verify(signed(), signing_key.keyring, now=NOW)
    assert outcome.code == 0, outcome.sentence
    assert outcome.sentence == (f"the report is authentic and valid: analytics 1.0.0 is "
                                f"certified, signed by {signing_key.fingerprint}")
    assert outcome.report is not None and outcome.report["level"] == "certified"


def test_one_flipped_byte_is_a_bad_signature(signed: Writer, signing_key: KeyHome) -> None:
    path = signed(make_report(fingerprint=signing_key.fingerprint))
    data = bytearray(path.read_bytes())
    data[data.index(b'"level":"certified"') + 9] ^= 0x01  # certified -> bertified
    path.write_bytes(bytes(data))
    outcome = verify(path, signing_key.keyring, now=NOW)
    assert outcome.code == 10
    assert outcome.sentence.startswith("the signature does not match this report")


def test_the_signature_of_another_report_does_not_fit(signed: Writer,
                                                      signing_key: KeyHome) -> None:
    first = signed(make_report(fingerprint=signing_key.fingerprint), name="a")
    second = signed(make_report({"LC-01@sqlite": "fail"}, fingerprint=signing_key.fingerprint),
                    name="b")
    outcome = verify(first, signing_key.keyring, signature=f"{second}.asc", now=NOW)
    assert outcome.code == 10
    assert outcome.sentence.startswith("the signature does not match this report")


def test_garbage_signature_is_a_bad_signature_and_a_missing_one_a_usage_error(
        signed: Writer, signing_key: KeyHome) -> None:
    path = signed()
    garbage = path.parent / "garbage.asc"
    garbage.write_text("-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2ln\n"
                       "-----END PGP SIGNATURE-----\n")
    assert verify(path, signing_key.keyring, signature=garbage, now=NOW).code == 10
    Path(f"{path}.asc").unlink()
    outcome = verify(path, signing_key.keyring, now=NOW)
    assert outcome.code == 2
    assert outcome.sentence.startswith(f"no signature at {path}.asc")


@pytest.mark.parametrize(("clearsign", "armour"), [(True, "-----BEGIN PGP SIGNED MESSAGE"),
                                                  (False, "-----BEGIN PGP MESSAGE")])
def test_an_inline_signed_message_is_not_accepted_as_a_detached_signature(
    signed: Writer, signing_key: KeyHome, clearsign: bool, armour: str
) -> None:
    import gnupg

    path = signed()
    try:
        gpg = gnupg.GPG(gnupghome=str(signing_key.home))
        inline = gpg.sign(path.read_bytes(), keyid=signing_key.fingerprint, detach=False,
                          clearsign=clearsign)
    finally:
        kill_agent(signing_key.home)
    sig = path.parent / "inline.asc"
    sig.write_text(str(inline))
    assert str(inline).startswith(armour)
    assert verify(path, signing_key.keyring, signature=sig, now=NOW).code == 10


def test_a_signer_outside_the_keyring_is_refused(signed: Writer, other_key: KeyHome,
                                                 signing_key: KeyHome) -> None:
    path = signed(make_report(fingerprint=other_key.fingerprint), home=other_key.home)
    outcome = verify(path, signing_key.keyring, now=NOW)
    assert outcome.code == 11
    assert outcome.sentence == (f"the report was signed by key {other_key.fingerprint}, "
                                "which is not in the keyring")


def test_a_development_key_is_not_trusted_unless_the_keyring_has_it(
    signed: Writer, signing_key: KeyHome
) -> None:
    home = short_home("dbd")
    try:
        fingerprint, development = ensure_signing_key(home)
        assert development
        report = make_report(fingerprint=fingerprint, development_key=True)
        path = signed(report, home=home)
        assert verify(path, signing_key.keyring, now=NOW).code == 11
        # the development key is only trusted if a keyring names it explicitly
        own = home / "dev.asc"
        own.write_text(export_keys([fingerprint], home=home))
        outcome = verify(path, own, now=NOW)
        assert outcome.code == 0
        assert "development key" in outcome.sentence
    finally:
        remove_home(home)


def test_a_development_key_signature_must_be_declared(signed: Writer) -> None:
    home = short_home("dbd")
    try:
        fingerprint, _ = ensure_signing_key(home)
        keyring = home / "dev.asc"
        keyring.write_text(export_keys([fingerprint], home=home))
        path = signed(make_report(fingerprint=fingerprint, development_key=False), home=home)
        outcome = verify(path, keyring, now=NOW)
        assert outcome.code == 11
        assert "development key" in outcome.sentence
    finally:
        remove_home(home)


def test_the_report_must_name_the_key_that_signed_it(signed: Writer, signing_key: KeyHome,
                                                     other_key: KeyHome, tmp_path: Path) -> None:
    both = tmp_path / "both.asc"
    both.write_text(signing_key.keyring.read_text() + other_key.keyring.read_text())
    path = signed(raw=canonical_bytes(make_report(fingerprint=other_key.fingerprint)))
    outcome = verify(path, both, now=NOW)
    assert outcome.code == 11
    assert outcome.sentence == (f"the report names signer {other_key.fingerprint}, but it was "
                                f"signed by {signing_key.fingerprint}")


def _tampered(fingerprint: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    report: dict[str, Any] = dict(make_report(fingerprint=fingerprint))
    change(report)
    return _raw(report)


def _drop_gap(report: dict[str, Any]) -> None:
    report["results"] = [r for r in report["results"] if r["backend"] != "postgresql"]
    report["summary"] = {"pass": 4, "fail": 0, "error": 0, "skipped": 0, "flaky": 0,
                         "required_total": 3, "required_passed": 3}


def _level(report: dict[str, Any]) -> None:
    report["results"][0]["status"] = "skipped"  # IS-01@postgresql: provisional at best
    report["summary"]["pass"] -= 1
    report["summary"]["skipped"] += 1
    report["summary"]["required_passed"] -= 1


def _catalog(report: dict[str, Any]) -> None:
    report["catalog"]["checks"] = [c for c in report["catalog"]["checks"] if c["id"] != "IS-01"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.update(level="excellent"), "$.level"),
        (_drop_gap, "gap"),
        (_level, "$.level: 'certified' but the results give 'provisional'"),
        (_catalog, "$.catalog.version"),
        (lambda r: r["results"][0].update(severity="advisory"), "$.results[0].severity"),
    ],
)
def test_a_signed_but_invalid_report_is_schema_invalid(
    signed: Writer, signing_key: KeyHome, change: Callable[[dict[str, Any]], None],
    expected: str
) -> None:
    path = signed(raw=_tampered(signing_key.fingerprint, change))
    outcome = verify(path, signing_key.keyring, now=NOW)
    assert outcome.code == 12
    assert expected in outcome.sentence


def test_signed_garbage_and_non_canonical_json_are_schema_invalid(
    signed: Writer, signing_key: KeyHome
) -> None:
    bad_json = signed(raw=b'{"schema_version": "0",', name="a")
    assert verify(bad_json, signing_key.keyring, now=NOW).code == 12
    pretty = json.dumps(make_report(fingerprint=signing_key.fingerprint), indent=2,
                        sort_keys=True).encode()
    outcome = verify(signed(raw=pretty, name="b"), signing_key.keyring, now=NOW)
    assert outcome.code == 12
    assert "canonical" in outcome.sentence


def test_artifact_must_be_the_certified_one(signed: Writer, signing_key: KeyHome,
                                            tmp_path: Path) -> None:
    from dufflebag_harness.outside.loader.digest import artifact_digest

    ext = tmp_path / "ext"
    (ext / "analytics").mkdir(parents=True)
    (ext / "extension.toml").write_text('[extension]\nname = "analytics"\n')
    (ext / "analytics" / "__init__.py").write_text("VALUE = 1\n")
    digest: Any = artifact_digest(ext).to_json()
    path = signed(make_report(fingerprint=signing_key.fingerprint, artifact=digest))
    good = verify(path, signing_key.keyring, artifact=ext, now=NOW)
    assert good.code == 0, good.sentence
    assert good.sentence.endswith("artifact matches")
    (ext / "analytics" / "__init__.py").write_text("VALUE = 2\n")
    outcome = verify(path, signing_key.keyring, artifact=ext, now=NOW)
    assert outcome.code == 13
    assert outcome.sentence == ("the artifact is not the one the report certifies "
                                "(changed: analytics/__init__.py)")


def test_an_expired_or_not_yet_valid_report(signed: Writer, signing_key: KeyHome) -> None:
    path = signed(make_report(fingerprint=signing_key.fingerprint, validity_days=30))
    late = verify(path, signing_key.keyring, now=FINISHED + timedelta(days=31))
    assert late.code == 14
    assert late.sentence == "the report expired on 2026-12-20T12:00:00Z"
    early = verify(path, signing_key.keyring, now=FINISHED - timedelta(hours=1))
    assert early.code == 14


NO_NET = {**SANDBOX, "namespaces": ["ipc", "mnt", "pid", "user"]}


@pytest.mark.parametrize(
    ("statuses", "sandbox", "require", "code"),
    [
        ({"IS-01@postgresql": "skipped"}, SANDBOX, "certified", 15),
        ({"IS-01@postgresql": "skipped"}, SANDBOX, "provisional", 0),
        ({"LC-01@sqlite": "fail"}, SANDBOX, "provisional", 15),
        ({}, SANDBOX, "certified", 0),
        ({}, None, "certified", 15),
        ({}, None, "provisional", 0),
        ({}, NO_NET, "certified", 15),
    ],
)
def test_level_below_required(signed: Writer, signing_key: KeyHome, statuses: dict[str, str],
                              sandbox: dict[str, object] | None, require: str,
                              code: int) -> None:
    path = signed(make_report(statuses, sandbox=sandbox, fingerprint=signing_key.fingerprint))
    outcome = verify(path, signing_key.keyring, require_level=require, now=NOW)
    assert outcome.code == code, outcome.sentence


def test_a_report_claiming_certified_without_a_sandbox_is_refused(
        signed: Writer, signing_key: KeyHome, tmp_path: Path) -> None:
    """A re-signed report whose level was edited to certified over an unsandboxed run:
    verify recomputes the level from the record and refuses it."""
    report = dict(make_report({}, sandbox=None, fingerprint=signing_key.fingerprint))
    assert report["level"] == "provisional"
    report["level"] = "certified"
    path = signed(raw=_raw(report))
    outcome = verify(path, signing_key.keyring, require_level="certified", now=NOW)
    assert outcome.code == 12 and "level" in outcome.sentence, outcome.sentence


def test_usage_errors(signed: Writer, signing_key: KeyHome, tmp_path: Path) -> None:
    path = signed()
    empty = tmp_path / "empty.asc"
    empty.write_text("no keys here\n")
    secret = tmp_path / "secret.asc"
    secret.write_text("-----BEGIN PGP PRIVATE KEY BLOCK-----\n...\n")
    assert verify(path, tmp_path / "missing.asc", now=NOW).code == 2
    assert verify(tmp_path / "missing.json", signing_key.keyring, now=NOW).code == 2
    assert verify(path, empty, now=NOW).code == 2
    assert verify(path, secret, now=NOW).code == 2
    assert verify(path, signing_key.keyring, require_level="gold", now=NOW).code == 2
    no_gpg = verify(path, signing_key.keyring, now=NOW, gpgbinary="/nonexistent/gpg")
    assert no_gpg.code == 2
    assert "gpg" in no_gpg.sentence


def test_verify_leaves_no_home_and_no_agent(signed: Writer, signing_key: KeyHome,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = signed()
    homes: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made: str = real_mkdtemp(*args, **kwargs)
        homes.append(Path(made))
        return made

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    assert verify(path, signing_key.keyring, now=NOW).code == 0
    [home] = homes
    assert len(str(home)) < 40
    assert not home.exists()
    assert running_agents(home) == []


def test_verify_defaults_to_the_current_time(signed: Writer, signing_key: KeyHome) -> None:
    recent = datetime.now(UTC) - timedelta(minutes=5)
    path = signed(make_report(fingerprint=signing_key.fingerprint, finished=recent))
    assert verify(path, signing_key.keyring).code == 0


def test_exactly_one_signature_is_accepted(signed: Writer, signing_key: KeyHome,
                                           tmp_path: Path) -> None:
    path = signed()
    second = Signer(signing_key.home).sign(path.read_bytes())
    double = tmp_path / "double.asc"
    double.write_text(Path(f"{path}.asc").read_text() + second)
    outcome = verify(path, signing_key.keyring, signature=double, now=NOW)
    assert outcome.code == 10
    assert outcome.sentence == "the signature file holds 2 signatures; exactly one is expected"


# -- only catalogs verify knows ----------------------------------------------------------
def _installed_catalog() -> list[dict[str, Any]]:
    from dufflebag_harness.reports.catalogs import installed_catalog_file, parse_catalog

    path = installed_catalog_file()
    assert path is not None
    return parse_catalog(path.read_text("utf-8"), str(path))


def test_the_installed_catalog_is_the_one_the_runner_certifies_against() -> None:
    from dufflebag_harness.conformance import load_catalog
    from dufflebag_harness.reports.catalogs import installed_catalog_version

    assert installed_catalog_version() == load_catalog().version


def test_a_report_on_the_installed_catalog_needs_no_catalog_option(
        signed: Writer, signing_key: KeyHome) -> None:
    report = make_report(catalog=_installed_catalog(),  # type: ignore[arg-type]
                         fingerprint=signing_key.fingerprint)
    outcome = verify(signed(report), signing_key.keyring, now=NOW, catalog=None)
    assert outcome.code == 0, outcome.sentence
    assert outcome.report is not None and outcome.report["level"] == "certified"


def _drop_a_required_check(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [dropped] = [c for c in checks if c["id"] == "IS-01"]
    assert dropped["severity"] == "required"
    return [c for c in checks if c["id"] != "IS-01"]


def _relabel_advisory(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "severity": "advisory"} if c["id"] == "IS-01" else c for c in checks]


@pytest.mark.parametrize("edit", [_drop_a_required_check, _relabel_advisory])
def test_a_re_signed_report_on_an_edited_catalog_is_refused_unless_that_catalog_is_given(
        signed: Writer, signing_key: KeyHome, tmp_path: Path,
        edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    """The forger's move: IS-01 fails, so drop it (or make it advisory) from the embedded
    catalog, recompute everything and sign again. The report holds up by its own rules."""
    checks = edit(_installed_catalog())
    report = make_report({"IS-01@sqlite": "fail"}, catalog=checks,  # type: ignore[arg-type]
                         fingerprint=signing_key.fingerprint)
    assert report["level"] == "certified"
    path = signed(report)
    outcome = verify(path, signing_key.keyring, now=NOW, catalog=None)
    assert outcome.code == 12
    assert outcome.sentence.startswith(
        f"unknown catalog version {report['catalog']['version']}; pass --catalog")
    edited = tmp_path / "edited-catalog.toml"
    edited.write_text(catalog_toml(checks))
    accepted = verify(path, signing_key.keyring, now=NOW, catalog=edited)
    assert accepted.code == 0, accepted.sentence


def test_an_unreadable_catalog_option_is_a_usage_error(signed: Writer, signing_key: KeyHome,
                                                       tmp_path: Path) -> None:
    path = signed()
    bad = tmp_path / "catalog.toml"
    bad.write_text("[[check]]\nid = 'XX-01'\n")
    outcome = verify(path, signing_key.keyring, now=NOW, catalog=bad)
    assert outcome.code == 2
    assert outcome.sentence == f"--catalog {bad}: [[check]] #1: missing or malformed 'title'"
    missing = verify(path, signing_key.keyring, now=NOW, catalog=tmp_path / "none.toml")
    assert missing.code == 2 and "does not exist" in missing.sentence


def test_the_toy_catalog_file_is_the_toy_catalog() -> None:
    from conftest import CATALOG, TOY_CATALOG

    from dufflebag_harness.reports import catalog_version
    from dufflebag_harness.reports.catalogs import catalog_file_version

    assert catalog_file_version(TOY_CATALOG) == catalog_version(CATALOG)
