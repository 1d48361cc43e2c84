"""Signing apart from running: an unsigned bundle in, a signed report out.

``certify --unsigned`` runs the whole certification in a job that holds no key and
writes a *bundle*: ``report.json`` saying ``signer: null``, and its renderings.
:func:`sign_bundle` is the other job, the one with the key. It runs nothing of the
extension; it reads the bundle and the artifact as bytes, and signs only a bundle
that holds up:

* the report passes the schema and every report rule — the level and the summary
  are recomputed from the results, and a gap in the required pairs is refused;
* its bytes are the canonical serialization the harness wrote (not re-serialized);
* its catalog is one this harness knows (the installed one, or a file given);
* it has not expired;
* the artifact given hashes to the digest and the per-file manifest it names.

What it cannot do is re-judge the results: a bundle is exactly as trustworthy as
the job that made it (see ``docs/ci.md``). Then it fills the signer and writes
``report.json`` (canonical), ``report.json.asc`` and fresh renderings, all or
nothing (:func:`~dufflebag_harness.reports.outputs.write_outputs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dufflebag_harness.reports.canonical import ReportInvalid, canonical_bytes, validate
from dufflebag_harness.reports.catalogs import CatalogUnreadable, known_catalog_versions
from dufflebag_harness.reports.outputs import REPORT, write_outputs
from dufflebag_harness.reports.signing import Signer
from dufflebag_harness.reports.verify import artifact_difference

__all__ = ["BundleRefused", "SignedBundle", "read_bundle", "sign_bundle"]

_MAX_REPORT_BYTES = 64 * 1024 * 1024


class BundleRefused(ValueError):
    """The bundle (or the artifact) does not hold up; nothing was written. The message
    names what was wrong and where."""


@dataclass(frozen=True)
class SignedBundle:
    """The signed report, and the files written into the bundle's folder."""

    report: dict[str, Any]
    files: list[Path]


def read_bundle(bundle_dir: Path | str) -> dict[str, Any]:
    """The unsigned report of ``bundle_dir``, checked as far as it can be without the
    artifact (schema, rules, canonical form, unsigned); raises :class:`BundleRefused`."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / REPORT
    if not bundle_dir.is_dir():
        raise BundleRefused(f"{bundle_dir}: no such folder "
                            "(give the folder `certify --unsigned --out` wrote)")
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_REPORT_BYTES + 1)
    except FileNotFoundError:
        raise BundleRefused(f"{path}: no such file (is {bundle_dir} the folder "
                            "`certify --unsigned` wrote?)") from None
    except OSError as exc:
        raise BundleRefused(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > _MAX_REPORT_BYTES:
        raise BundleRefused(f"{path}: larger than {_MAX_REPORT_BYTES} bytes")
    try:
        report = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BundleRefused(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BundleRefused(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg})") from None
    if not isinstance(report, dict):
        raise BundleRefused(f"{path}: not a report (a JSON object)")
    signer = report.get("signer")
    if isinstance(signer, dict):
        raise BundleRefused(f"{path}: $.signer: already signed by "
                            f"{signer.get('fingerprint')}; sign takes the unsigned bundle "
                            "that `certify --unsigned` writes")
    try:
        validate(report)
    except ReportInvalid as exc:
        raise BundleRefused(f"{path}: {exc}") from None
    if canonical_bytes(report) != data:
        raise BundleRefused(f"{path}: not in canonical form (it was edited or re-serialized "
                            "after certify wrote it)")
    return report


def _check_catalog(report: dict[str, Any], path: Path, catalogs: Iterable[Path | str]) -> None:
    try:
        known = known_catalog_versions(catalogs)
    except CatalogUnreadable as exc:
        raise BundleRefused(f"catalog {exc}") from None
    version = report["catalog"]["version"]
    if version not in known:
        raise BundleRefused(f"{path}: $.catalog.version: unknown catalog version {version}; "
                            f"this harness knows {', '.join(known) or 'none'}")


def _check_current(report: dict[str, Any], path: Path, now: datetime) -> None:
    not_after = report["validity"]["not_after"]
    if now > datetime.fromisoformat(not_after.replace("Z", "+00:00")):
        raise BundleRefused(f"{path}: $.validity.not_after: the bundle expired on {not_after}; "
                            "certify again")


def _check_artifact(report: dict[str, Any], artifact: Path) -> None:
    from dufflebag_harness.outside.loader.digest import ArtifactError, artifact_digest

    if not artifact.exists():
        raise BundleRefused(f"--artifact {artifact}: no such file or directory")
    try:
        found = artifact_digest(artifact)
    except ArtifactError as exc:
        raise BundleRefused(f"--artifact {artifact}: cannot be read ({exc})") from None
    difference = artifact_difference(report["extension"]["artifact"], found)
    if difference is not None:
        raise BundleRefused(f"--artifact {artifact}: not the artifact the bundle certifies "
                            f"({difference})")


def sign_bundle(
    bundle_dir: Path | str,
    artifact: Path | str,
    signer: Signer,
    *,
    catalogs: Iterable[Path | str] = (),
    now: datetime | None = None,
    sarif_root: Path | None = None,
) -> SignedBundle:
    """Check the unsigned bundle in ``bundle_dir`` against ``artifact``, then sign it in place.

    ``catalogs`` are catalog.toml files accepted besides the installed one. Raises
    :class:`BundleRefused` (nothing written) when the bundle or the artifact does not
    hold up; the signer's :class:`~dufflebag_harness.reports.SigningError` when the key
    cannot sign; :class:`~dufflebag_harness.reports.OutputError` when the folder
    cannot be written. The SARIF file is written again with locations relative to
    ``sarif_root`` (default: the git top level of a folder ``artifact``), as
    ``certify`` writes it.
    """
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / REPORT
    report = read_bundle(bundle_dir)
    _check_catalog(report, path, catalogs)
    _check_current(report, path, now or datetime.now(UTC))
    _check_artifact(report, Path(artifact))
    signed = {**report, "signer": signer.info}
    folder = Path(artifact) if Path(artifact).is_dir() else None
    files = write_outputs(signed, bundle_dir, signer, extension_dir=folder,
                          sarif_root=sarif_root)
    return SignedBundle(signed, files)
