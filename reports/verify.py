"""``verify``: is this signed report authentic, intact, about this artifact, current, enough?

What the marketplace runs before listing an extension; it never runs extension
code. Each verification uses a fresh, short-lived GnuPG home holding only the
public keys of the keyring given, so nothing on the machine (a local
development key, a trust database) can vouch for a report implicitly; the
signer is pinned by fingerprint because python-gnupg's ``valid`` ignores trust.
Everything a verdict depends on is recomputed from the signed bytes.
"""

from __future__ import annotations

import enum
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dufflebag_harness.reports._gpg import GpgUnavailable, SigningError, gpg_session, prepare_home
from dufflebag_harness.reports.canonical import ReportInvalid, canonical_bytes, validate
from dufflebag_harness.reports.catalogs import CatalogUnreadable, known_catalog_versions
from dufflebag_harness.reports.keys import DEVELOPMENT_COMMENT
from dufflebag_harness.reports.levels import level_refusal
from dufflebag_harness.reports.sbom import sbom_problem

if TYPE_CHECKING:
    from dufflebag_harness.outside.loader.digest import ArtifactDigest

__all__ = ["VerifyExit", "VerifyOutcome", "artifact_difference", "verify"]


class VerifyExit(enum.IntEnum):
    """Exit codes of ``dufflebag-cert verify``: a contract, marketplaces gate on them."""

    OK = 0
    """The report is authentic, intact, about the artifact, current and at the level asked."""

    USAGE = 2
    """Wrong use: a missing file (the signature beside the report too), a keyring with
    secret keys or none, no gpg here."""

    BAD_SIGNATURE = 10
    """The signature does not match the bytes (the report was altered, or the signature
    is another report's) or is not acceptable; or the report is an unsigned bundle
    (``signer: null``)."""

    UNKNOWN_SIGNER = 11
    """The signer is not in the keyring (or revoked, or not the signer the report names)."""

    INVALID = 12
    """The report breaks the schema or a report rule, is not in canonical form, or names a
    catalog version this harness does not know (pass ``--catalog``)."""

    ARTIFACT_MISMATCH = 13
    """The artifact given is not the one the report certifies, or the SBOM beside the
    report (``sbom.cdx.json``) is missing or not the one it binds by digest."""

    EXPIRED = 14
    """The report (or the signing key, or the signature) is not valid now."""

    LEVEL_BELOW = 15
    """The report's level is below the level required."""


_MAX_REPORT_BYTES = 64 * 1024 * 1024
_STRONG_DIGESTS = {"8", "9", "10", "11"}  # SHA-256, SHA-384, SHA-512, SHA-224
_BINARY_DOCUMENT = "00"


@dataclass(frozen=True)
class VerifyOutcome:
    """The exit ``code``, one plain ``sentence`` saying why, and the report if it parsed."""

    code: VerifyExit
    sentence: str
    report: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.code == VerifyExit.OK


class _Reject(Exception):
    """Internal: ends verification with a code; never escapes :func:`verify`."""

    def __init__(self, code: VerifyExit, sentence: str) -> None:
        super().__init__(sentence)
        self.code = code
        self.sentence = sentence


def _read(path: Path, label: str, limit: int = _MAX_REPORT_BYTES) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise _Reject(VerifyExit.USAGE, f"{label} {path} does not exist") from None
    except OSError as exc:
        raise _Reject(VerifyExit.USAGE, f"{label} {path} cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise _Reject(VerifyExit.USAGE, f"{label} {path} is larger than {limit} bytes")
    return data


def _status_lines(stderr: str | None) -> list[tuple[str, list[str]]]:
    out = []
    for line in (stderr or "").splitlines():
        if line.startswith("[GNUPG:] "):
            key, _, rest = line[9:].partition(" ")
            out.append((key, rest.split()))
    return out


def _signature_fingerprint(status: list[tuple[str, list[str]]], fingerprints: set[str]) -> str:
    """The primary fingerprint of the one good, pinned signature, or a rejection."""
    seen = {key: args for key, args in status}
    count = sum(1 for key, _ in status if key == "NEWSIG")
    if count == 0 or "NODATA" in seen:
        raise _Reject(VerifyExit.BAD_SIGNATURE, "the signature file holds no OpenPGP signature")
    if count > 1:
        raise _Reject(VerifyExit.BAD_SIGNATURE,
                      f"the signature file holds {count} signatures; exactly one is expected")
    if "BADSIG" in seen:
        # gpg cannot tell an altered report from another report's signature: say both
        raise _Reject(VerifyExit.BAD_SIGNATURE,
                      "the signature does not match this report: the report was altered "
                      "after signing, or the signature belongs to another report")
    if "NO_PUBKEY" in seen or "ERRSIG" in seen:
        errsig = seen.get("ERRSIG", [])
        if "NO_PUBKEY" in seen or errsig[5:6] == ["9"]:  # rc 9: no public key
            signer = errsig[6] if len(errsig) >= 7 else (seen.get("NO_PUBKEY") or ["?"])[0]
            raise _Reject(VerifyExit.UNKNOWN_SIGNER,
                          f"the report was signed by key {signer}, which is not in the keyring")
        raise _Reject(VerifyExit.BAD_SIGNATURE,
                      "the signature cannot be checked (gpg error "
                      f"{' '.join(errsig[5:6]) or 'unknown'})")
    if "REVKEYSIG" in seen:
        raise _Reject(VerifyExit.UNKNOWN_SIGNER,
                      f"the signing key {seen['REVKEYSIG'][0]} has been revoked")
    if "EXPKEYSIG" in seen:
        raise _Reject(VerifyExit.EXPIRED, f"the signing key {seen['EXPKEYSIG'][0]} has expired")
    if "EXPSIG" in seen:
        raise _Reject(VerifyExit.EXPIRED, "the signature has expired")
    valid = seen.get("VALIDSIG")
    if "GOODSIG" not in seen or valid is None or len(valid) < 10:
        raise _Reject(VerifyExit.BAD_SIGNATURE, "the signature does not verify")
    if valid[8] != _BINARY_DOCUMENT:
        raise _Reject(VerifyExit.BAD_SIGNATURE,
                      "the signature is not a detached signature over the exact bytes")
    if valid[7] not in _STRONG_DIGESTS:
        raise _Reject(VerifyExit.BAD_SIGNATURE, "the signature uses a weak digest algorithm")
    primary = valid[9]
    if primary not in fingerprints:
        raise _Reject(VerifyExit.UNKNOWN_SIGNER,
                      f"the report was signed by key {primary}, "
                      "which is not in the keyring")
    return primary


def _check_signature(
    data: bytes, signature: Path, keyring: bytes, gpgbinary: str
) -> tuple[str, bool]:
    """``(primary fingerprint, is a development key)`` of the one good signature."""
    if b"PRIVATE KEY BLOCK" in keyring:
        raise _Reject(VerifyExit.USAGE,
                      "the keyring holds secret key material; give public keys only")
    if not signature.exists():
        raise _Reject(VerifyExit.USAGE,
                      f"no signature at {signature} (give the report's .asc with --signature)")
    if not signature.is_file():
        raise _Reject(VerifyExit.USAGE, f"the signature {signature} is not a file")
    root = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
    home = Path(tempfile.mkdtemp(prefix="dbv", dir=root))
    try:
        prepare_home(home)
        with gpg_session(home, gpgbinary) as gpg:
            imported = gpg.import_keys(keyring)
            fingerprints = {str(f) for f in imported.fingerprints or ()}
            if int(getattr(imported, "sec_imported", 0) or 0):
                raise _Reject(VerifyExit.USAGE,
                              "the keyring holds secret keys; give public keys only")
            if not fingerprints:
                raise _Reject(VerifyExit.USAGE, "the keyring holds no OpenPGP public key")
            result = gpg.verify_data(str(signature), data)
            signer = _signature_fingerprint(_status_lines(result.stderr), fingerprints)
            uids = [uid for key in gpg.list_keys(keys=[signer]) for uid in key.get("uids", ())]
        return signer, any(DEVELOPMENT_COMMENT in uid for uid in uids)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _parse(data: bytes) -> dict[str, Any]:
    try:
        report = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Reject(VerifyExit.INVALID, "the report is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _Reject(VerifyExit.INVALID,
                      f"the report is not valid JSON (line {exc.lineno}, column "
                      f"{exc.colno}: {exc.msg})") from None
    if not isinstance(report, dict):
        raise _Reject(VerifyExit.INVALID, "the report is not a JSON object")
    try:
        validate(report)
        canonical = canonical_bytes(report)
    except ReportInvalid as exc:
        raise _Reject(VerifyExit.INVALID,
                      f"the report does not follow the report schema ({exc})") from None
    if canonical != data:
        raise _Reject(VerifyExit.INVALID,
                      "the report is not in canonical form (it was re-serialized)")
    return report


def _refuse_unsigned(data: bytes) -> None:
    """An unsigned bundle (``certify --unsigned``) says so; refuse it before looking for
    a signature, with a sentence that says what to do."""
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # not JSON: the signature and the parser say what is wrong
    if isinstance(report, dict) and "signer" in report and report["signer"] is None:
        raise _Reject(VerifyExit.BAD_SIGNATURE,
                      "the report is an unsigned bundle (signer: null), which nothing "
                      "vouches for; sign it with `dufflebag-cert sign BUNDLE_DIR --artifact "
                      "PATH` and verify the signed report")


def _known_catalogs(catalog: Path | str | None) -> dict[str, str]:
    if catalog is not None and not Path(catalog).is_file():
        raise _Reject(VerifyExit.USAGE, f"the catalog {catalog} does not exist")
    try:
        return known_catalog_versions([catalog] if catalog is not None else [])
    except CatalogUnreadable as exc:
        raise _Reject(VerifyExit.USAGE, f"--catalog {exc}") from None


def _check_catalog(report: dict[str, Any], known: dict[str, str]) -> None:
    version = report["catalog"]["version"]
    if version not in known:
        installed = [v for v, source in known.items() if source == "the installed harness"]
        raise _Reject(VerifyExit.INVALID,
                      f"unknown catalog version {version}; pass --catalog with the "
                      "catalog.toml the report was certified against (this harness knows "
                      f"{', '.join(installed) or 'no catalog of its own'})")


def artifact_difference(certified: Mapping[str, Any], found: ArtifactDigest) -> str | None:
    """What differs between a report's ``extension.artifact`` and a digest recomputed now
    (``None`` when they agree): the kind, or the files changed, added and removed."""
    if found.kind != certified["kind"]:
        return f"the report certifies a {certified['kind']}, but the artifact is a {found.kind}"
    files: Mapping[str, str] = certified["files"]
    if found.digest == certified["digest"] and dict(found.files) == dict(files):
        return None
    changed = sorted(p for p in files.keys() & found.files.keys() if files[p] != found.files[p])
    added = sorted(found.files.keys() - files.keys())
    removed = sorted(files.keys() - found.files.keys())
    parts = [f"{label}: {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
             for label, names in (("changed", changed), ("added", added), ("removed", removed))
             if names]
    if not parts:
        parts = [f"digest {found.digest}, the report says {certified['digest']}"]
    return "; ".join(parts)


def _check_artifact(report: dict[str, Any], artifact: Path) -> None:
    from dufflebag_harness.outside.loader.digest import ArtifactError, artifact_digest

    if not artifact.exists():
        raise _Reject(VerifyExit.USAGE, f"the artifact {artifact} does not exist")
    try:
        found = artifact_digest(artifact)
    except ArtifactError as exc:
        raise _Reject(VerifyExit.ARTIFACT_MISMATCH,
                      f"the artifact cannot be read ({exc})") from None
    certified = report["extension"]["artifact"]
    if found.kind != certified["kind"]:
        raise _Reject(VerifyExit.ARTIFACT_MISMATCH,
                      f"the report certifies a {certified['kind']}, but the artifact is a "
                      f"{found.kind}")
    if found.digest == certified["digest"]:
        return
    detail = artifact_difference(certified, found)
    raise _Reject(VerifyExit.ARTIFACT_MISMATCH,
                  f"the artifact is not the one the report certifies ({detail})")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _check_current(report: dict[str, Any], now: datetime) -> None:
    validity = report["validity"]
    if now > _instant(validity["not_after"]):
        raise _Reject(VerifyExit.EXPIRED, f"the report expired on {validity['not_after']}")
    if now < _instant(validity["not_before"]):
        raise _Reject(VerifyExit.EXPIRED,
                      f"the report is not valid before {validity['not_before']}")


def _check_level(report: dict[str, Any], require_level: str) -> None:
    refusal = level_refusal(report, require_level)  # the renderings' banner says the same
    if refusal is not None:
        raise _Reject(VerifyExit.LEVEL_BELOW, refusal)


def verify(
    report_path: Path | str,
    keyring_path: Path | str,
    *,
    artifact: Path | str | None = None,
    signature: Path | str | None = None,
    require_level: str = "certified",
    now: datetime | None = None,
    gpgbinary: str = "gpg",
    catalog: Path | str | None = None,
) -> VerifyOutcome:
    """Verify a signed report; never raises for a bad report, returns the outcome.

    The outcome's ``code`` is a :class:`VerifyExit` (the exit code of
    ``dufflebag-cert verify``). ``now`` (default: the current time) is taken as UTC when naive.
    The report's catalog must be the installed harness's or the ``catalog.toml`` at
    ``catalog``; an unsigned bundle is refused.
    """
    report: dict[str, Any] | None = None
    try:
        if require_level not in ("certified", "provisional"):
            raise _Reject(VerifyExit.USAGE,
                          f"--require-level {require_level!r} is not one of certified, "
                          "provisional")
        report_path = Path(report_path)
        data = _read(report_path, "the report")
        keyring = _read(Path(keyring_path), "the keyring")
        known = _known_catalogs(catalog)
        _refuse_unsigned(data)
        sig = Path(signature) if signature is not None else Path(f"{report_path}.asc")
        try:
            signer, development_key = _check_signature(data, sig, keyring, gpgbinary)
        except (GpgUnavailable, SigningError) as exc:
            raise _Reject(VerifyExit.USAGE, f"signatures cannot be checked here: {exc}") from None
        report = _parse(data)
        if report["signer"] is None:  # _refuse_unsigned saw the same bytes; never reached
            raise _Reject(VerifyExit.BAD_SIGNATURE, "the report names no signer")
        named = report["signer"]["fingerprint"]
        if named != signer:
            raise _Reject(VerifyExit.UNKNOWN_SIGNER,
                          f"the report names signer {named}, but it was signed "
                          f"by {signer}")
        if development_key and not report["signer"]["development_key"]:
            raise _Reject(VerifyExit.UNKNOWN_SIGNER,
                          f"the report was signed with development key {signer} "
                          "but does not say so")
        _check_catalog(report, known)
        problem = sbom_problem(report, report_path.parent)
        if problem is not None:
            raise _Reject(VerifyExit.ARTIFACT_MISMATCH,
                          f"{problem}: it is not the SBOM the report was signed with")
        if artifact is not None:
            _check_artifact(report, Path(artifact))
        moment = now or datetime.now(UTC)
        _check_current(report, moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        _check_level(report, require_level)
    except _Reject as rejection:
        return VerifyOutcome(rejection.code, rejection.sentence, report)
    extension = report["extension"]
    development = " (a development key)" if report["signer"]["development_key"] else ""
    checked = ", artifact matches" if artifact is not None else ""
    return VerifyOutcome(
        VerifyExit.OK,
        f"the report is authentic and valid: {extension['name']} {extension['version']} is "
        f"{report['level']}, signed by {signer}{development}{checked}",
        report,
    )
