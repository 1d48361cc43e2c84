"""The artifact digest: what exactly was certified.

A wheel or sdist is identified by the sha256 of its bytes. A folder has no
bytes of its own, so it gets a deterministic tree hash: one record per member,
sorted by relative POSIX path, each ``kind · len(path) · path · sha256(content)``.
The path is length-prefixed and the content hash has a fixed size, so no two
different trees share a byte stream. Every file the folder holds is a member —
``__pycache__``, ``.venv``, ``*.egg-info``, ``build/``, hidden folders — since
any of it may run once installed; only the root ``certification/`` output
folder is left out (see :mod:`._tree`). Symlinks are recorded as links (their
target text), never followed. ``reports`` recomputes this to verify
``--artifact``, so the format is versioned (``_TREE_TAG``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from dufflebag_harness.outside.loader._archives import archive_kind, members
from dufflebag_harness.outside.loader._errors import ArtifactError
from dufflebag_harness.outside.loader._tree import walk

__all__ = ["ArtifactDigest", "ArtifactError", "artifact_digest"]

ArtifactKind = Literal["folder", "wheel", "sdist"]
_TREE_TAG = b"dufflebag-tree/1\0"


@dataclass(frozen=True)
class ArtifactDigest:
    """``digest`` identifies the artifact; ``files`` maps each member to its sha256 (hex).

    For a symlink, ``files`` holds the sha256 of its target text and ``links``
    the target itself.
    """

    kind: ArtifactKind
    digest: str
    files: Mapping[str, str]
    links: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def to_json(self) -> dict[str, Any]:
        """The report's ``extension.artifact`` object."""
        return {"kind": self.kind, "digest": self.digest, "files": dict(sorted(self.files.items()))}


def artifact_digest(path: Path) -> ArtifactDigest:
    """Digest a folder, a wheel (``*.whl``) or an sdist (``*.tar.gz``, ``*.tgz``, ``*.zip``).

    Raises :class:`ArtifactError` for a missing path, an unknown file type, a
    corrupt archive or a member that is not a file, folder or symlink.
    """
    path = Path(path)
    if path.is_dir():
        return _folder(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such file or folder")
    kind = archive_kind(path)
    if kind is None:
        raise ArtifactError(f"{path}: not a folder, wheel (.whl) or sdist (.tar.gz, .zip)")
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    with members(path) as found:
        for member in found:
            if member.link is not None:
                links[member.name] = member.link
                files[member.name] = hashlib.sha256(member.link.encode()).hexdigest()
            else:
                digest = hashlib.sha256()
                for chunk in member.chunks():
                    digest.update(chunk)
                files[member.name] = digest.hexdigest()
    with path.open("rb") as stream:
        whole = hashlib.file_digest(stream, "sha256").hexdigest()
    return ArtifactDigest(kind, f"sha256:{whole}", _frozen(files), _frozen(links))


def _folder(root: Path) -> ArtifactDigest:
    tree = hashlib.sha256(_TREE_TAG)
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    for entry in walk(root):
        if entry.link is not None:
            kind, content = b"L", hashlib.sha256(os.fsencode(entry.link)).digest()
            links[entry.rel] = entry.link
        else:
            kind, content = b"F", _file_sha256(entry.path)
        rel = os.fsencode(entry.rel)
        tree.update(kind + len(rel).to_bytes(8, "big") + rel + content)
        files[entry.rel] = content.hex()
    return ArtifactDigest("folder", f"sha256:{tree.hexdigest()}", _frozen(files), _frozen(links))


def _file_sha256(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").digest()
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read: {exc.strerror}") from None


def _frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(mapping.items())))
