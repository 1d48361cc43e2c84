"""Writing a certification's outputs, all or nothing.

Everything is built in a staging folder beside ``out_dir`` (same file system,
so moves are atomic renames): the canonical ``report.json``, its detached
signature, the renderings and, when the extension declares Python dependencies, the
CycloneDX SBOM the report binds by digest. Only when all of them exist are they moved into
place. A fresh ``out_dir`` appears in one rename. In an existing one the old
signature is removed first and the new one moved in last, so at no moment does
the folder hold a signature that vouches for anything but the report beside
it, and an error leaves the old report untouched. Other files in ``out_dir``
are left alone.

Without a signer the folder is an *unsigned bundle* (``certify --unsigned``): the
report says ``signer: null``, no signature is written and an old one is removed;
``dufflebag-cert sign`` turns the bundle into a signed report in place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess  # nosec B404: git, by absolute argument list, to find a repository root
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from dufflebag_harness.reports.canonical import ReportInvalid, canonical_bytes, validate
from dufflebag_harness.reports.render import (
    render_badge,
    render_html,
    render_junit,
    render_markdown,
    render_sarif,
)
from dufflebag_harness.reports.sbom import SBOM_NAME, sbom_bytes

__all__ = [
    "BUNDLE_FILES",
    "OUTPUT_FILES",
    "OutputError",
    "SupportsSign",
    "sarif_base",
    "write_outputs",
]

REPORT = "report.json"
SIGNATURE = "report.json.asc"
_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str | bytes]] = {
    "report.html": render_html,
    "report.md": render_markdown,
    "junit.xml": render_junit,
    "report.sarif": render_sarif,
    "badge.svg": render_badge,
}
#: Every file :func:`write_outputs` writes, in the order it returns them.
OUTPUT_FILES = (REPORT, SIGNATURE, *_RENDERERS)
#: What an unsigned bundle holds: the same, without the signature.
BUNDLE_FILES = (REPORT, *_RENDERERS)


class OutputError(OSError):
    """The outputs could not be written; nothing new was left in ``out_dir``."""


class SupportsSign(Protocol):
    """What :func:`write_outputs` needs of a signer (e.g. :class:`~.Signer`)."""

    @property
    def fingerprint(self) -> str: ...

    def sign(self, data: bytes) -> str: ...


def _write(path: Path, content: bytes) -> None:
    with path.open("wb") as stream:
        stream.write(content)
        stream.flush()
        os.fsync(stream.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(staging: Path, out_dir: Path, names: tuple[str, ...]) -> None:
    if not out_dir.exists():
        os.rename(staging, out_dir)
        _sync_dir(out_dir.parent)
        return
    (out_dir / SIGNATURE).unlink(missing_ok=True)
    _sync_dir(out_dir)
    for name in names:
        if name != SIGNATURE:
            os.replace(staging / name, out_dir / name)
    _sync_dir(out_dir)
    if SIGNATURE in names:
        os.replace(staging / SIGNATURE, out_dir / SIGNATURE)
        _sync_dir(out_dir)


def _sbom(report: Mapping[str, Any]) -> bytes | None:
    """The SBOM the report binds (made again from it: the same bytes), or None."""
    deps = report.get("dependencies")
    if not deps:
        return None
    data = sbom_bytes(report)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != deps["sbom"]["digest"]:
        raise ReportInvalid("$.dependencies.sbom.digest",
                            f"{deps['sbom']['digest']} is not the SBOM of this report ({digest})")
    return data


def _git_toplevel(folder: Path) -> Path | None:
    """The top-level folder of the git work tree ``folder`` is in, or ``None``."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(  # nosec B603: fixed arguments, no shell
            [git, "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = proc.stdout.strip()
    return Path(top) if proc.returncode == 0 and top else None


def sarif_base(extension_dir: Path | None, sarif_root: Path | None = None) -> str:
    """The extension folder's path relative to the SARIF root, as SARIF locations start
    (``""`` when they are the same folder, or when the folder is not known).

    ``sarif_root`` ``None`` means the top level of the git work tree the extension
    folder is in, else the extension folder itself. A root that does not contain the
    extension folder is an :class:`OutputError` naming both.
    """
    if extension_dir is None:
        return ""
    folder = Path(extension_dir).resolve()
    if sarif_root is None:
        root = _git_toplevel(folder) or folder
    else:
        root = Path(sarif_root).resolve()
        if not root.is_dir():
            raise OutputError(f"--sarif-root {sarif_root}: is not a folder")
    if not folder.is_relative_to(root):
        raise OutputError(f"--sarif-root {root}: does not contain the extension folder "
                          f"{folder}, so SARIF locations cannot be relative to it")
    relative = folder.relative_to(root).as_posix()
    return "" if relative == "." else relative


def write_outputs(report: Mapping[str, Any], out_dir: Path,
                  signer: SupportsSign | None, *,
                  extension_dir: Path | None = None,
                  sarif_root: Path | None = None) -> list[Path]:
    """Validate, sign and write ``report.json`` and its signature and renderings.

    With ``signer`` ``None``, write an unsigned bundle instead: the report must say
    ``signer: null``; no signature is written and an old one in ``out_dir`` is removed.
    ``extension_dir`` is the certified extension's folder and ``sarif_root`` the
    repository root SARIF locations are relative to (:func:`sarif_base`; ``None``: the
    git top level of ``extension_dir``). Without ``extension_dir``, locations are
    relative to the extension folder.
    Raises :class:`ReportInvalid` for an invalid report (or one naming another
    signer), :class:`OutputError` when ``out_dir`` cannot be written or ``sarif_root``
    does not contain ``extension_dir``, and the signer's error when signing fails; in
    every case ``out_dir`` is unchanged.
    """
    validate(report)
    renderers: dict[str, Callable[[Mapping[str, Any]], str | bytes]] = {
        **_RENDERERS,
        "report.sarif": partial(render_sarif, base=sarif_base(extension_dir, sarif_root),
                                extension_dir=None if extension_dir is None
                                else Path(extension_dir)),
    }
    named = report["signer"]["fingerprint"] if report["signer"] is not None else None
    if signer is None and named is not None:
        raise ReportInvalid("$.signer", f"names {named}, but an unsigned bundle says null")
    if signer is not None and named != signer.fingerprint:
        raise ReportInvalid("$.signer.fingerprint",
                            f"{named} is not the signing key {signer.fingerprint}")
    data = canonical_bytes(report)
    names = OUTPUT_FILES if signer is not None else BUNDLE_FILES
    sbom = _sbom(report)
    if sbom is not None:
        names = (*names, SBOM_NAME)
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir}: exists and is not a folder")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: cannot create files beside it: {exc}") from exc
    try:
        staging.chmod(0o755)  # mkdtemp makes it 0700; the outputs are meant to be shared
        contents: dict[str, bytes] = {REPORT: data}
        if sbom is not None:
            contents[SBOM_NAME] = sbom
        if signer is not None:
            contents[SIGNATURE] = signer.sign(data).encode("ascii")
        for name, render in renderers.items():
            rendered = render(report)
            contents[name] = rendered if isinstance(rendered, bytes) else rendered.encode("utf-8")
        for name in names:
            _write(staging / name, contents[name])
        _sync_dir(staging)
        try:
            _publish(staging, out_dir, names)
        except OSError as exc:
            raise OutputError(f"--out {out_dir}: cannot move the outputs into place: {exc}") \
                from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in names]
