"""Reading wheels and sdists member by member, refusing unsafe members.

Shared by the digest (which lists members) and :func:`materialize` (which
writes them): both see the same members, and neither trusts member names.
Python 3.11.2 (this platform's interpreter) predates ``tarfile`` extraction
filters, so members are checked and written by hand rather than with
``extractall``.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from dufflebag_harness.outside.loader._errors import ArtifactError

__all__ = ["ArchiveKind", "Member", "archive_kind", "members"]

ArchiveKind = Literal["wheel", "sdist"]
#: Refuse archives that would expand past this (zip bombs).
MAX_TOTAL_BYTES = 1 << 30
MAX_MEMBERS = 50_000


@dataclass(frozen=True)
class Member:
    """A file or symlink in an archive; ``open()`` streams a file's bytes."""

    archive: Path
    name: str
    link: str | None
    size: int
    _zip: zipfile.ZipFile | None = None
    _tar: tarfile.TarFile | None = None
    _info: zipfile.ZipInfo | tarfile.TarInfo | None = None

    def chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        """The member's bytes in chunks; a corrupt member raises :class:`ArtifactError`."""
        try:
            with self._open() as stream:
                while chunk := stream.read(size):
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, tarfile.TarError) as exc:
            raise ArtifactError(f"{self.archive}: member {self.name!r} is corrupt: {exc}") from None

    def _open(self) -> IO[bytes]:
        if self._zip is not None and isinstance(self._info, zipfile.ZipInfo):
            return self._zip.open(self._info)
        if self._tar is not None and isinstance(self._info, tarfile.TarInfo):
            stream = self._tar.extractfile(self._info)
            if stream is not None:
                return stream
        raise ArtifactError(f"{self.archive}: member {self.name!r} is not a regular file")


def archive_kind(path: Path) -> ArchiveKind | None:
    """``wheel`` for ``*.whl``, ``sdist`` for ``*.tar.gz``/``*.tgz``/``*.zip``, else None."""
    name = path.name.lower()
    if name.endswith(".whl"):
        return "wheel"
    if name.endswith((".tar.gz", ".tgz", ".zip")):
        return "sdist"
    return None


def safe_name(archive: Path, name: str) -> str:
    """The member name, normalised; refuses absolute paths, ``..``, NUL and backslashes."""
    pure = PurePosixPath(name)
    if (
        not name
        or pure.is_absolute()
        or ".." in pure.parts
        or "\\" in name
        or "\0" in name
        or (len(name) > 1 and name[1] == ":")
    ):
        raise ArtifactError(f"{archive}: unsafe member name {name!r} (absolute or '..')")
    return pure.as_posix()


@contextmanager
def members(archive: Path) -> Iterator[list[Member]]:
    """The safe members of ``archive`` (files and symlinks; folders implied), in archive order.

    Raises :class:`ArtifactError` for an unsafe or duplicate name, a special
    file, a link leaving the archive, or an archive too large to expand.
    """
    as_zip = archive.name.lower().endswith((".whl", ".zip"))
    with ExitStack() as stack:
        try:
            if as_zip:
                zf = stack.enter_context(zipfile.ZipFile(archive))
                found = _checked(archive, _zip_members(archive, zf))
            else:
                tar = stack.enter_context(tarfile.open(archive, "r:gz"))
                found = _checked(archive, _tar_members(archive, tar))
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            kind = "zip" if as_zip else "gzip-compressed tar"
            raise ArtifactError(f"{archive}: not a readable {kind} archive: {exc}") from None
        yield found


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[Member]:
    for info in zf.infolist():
        name = safe_name(archive, info.filename)
        if info.is_dir():
            continue
        # No type bits (most zips) means a file; pip installs zip symlinks as files, so do we.
        if stat.S_IFMT(info.external_attr >> 16) not in {0, stat.S_IFREG, stat.S_IFLNK}:
            raise ArtifactError(f"{archive}: member {name!r} is not a regular file")
        yield Member(archive, name, None, info.file_size, _zip=zf, _info=info)


def _tar_members(archive: Path, tar: tarfile.TarFile) -> Iterator[Member]:
    for info in tar.getmembers():
        name = safe_name(archive, info.name)
        if info.isdir():
            continue
        if info.issym() or info.islnk():
            target = info.linkname
            base = PurePosixPath(name).parent if info.issym() else PurePosixPath()
            resolved = _normalise(base / target)
            if PurePosixPath(target).is_absolute() or resolved is None:
                raise ArtifactError(f"{archive}: link {name!r} -> {target!r} leaves the archive")
            if info.islnk():
                raise ArtifactError(f"{archive}: hard link {name!r}; store the file itself")
            yield Member(archive, name, target, 0, _tar=tar, _info=info)
        elif info.isreg():
            yield Member(archive, name, None, info.size, _tar=tar, _info=info)
        else:
            raise ArtifactError(f"{archive}: member {name!r} is a device, FIFO or other special")


def _normalise(path: PurePosixPath) -> PurePosixPath | None:
    """Resolve ``..`` lexically; None when the path climbs above its start."""
    out: list[str] = []
    for part in path.parts:
        if part == "..":
            if not out:
                return None
            out.pop()
        elif part not in {".", ""}:
            out.append(part)
    return PurePosixPath(*out)


def _checked(archive: Path, found: Iterator[Member]) -> list[Member]:
    seen: set[str] = set()
    total = 0
    out = []
    for member in found:
        if member.name in seen:
            raise ArtifactError(f"{archive}: duplicate member {member.name!r}")
        seen.add(member.name)
        total += member.size
        if total > MAX_TOTAL_BYTES or len(seen) > MAX_MEMBERS:
            raise ArtifactError(f"{archive}: expands past {MAX_TOTAL_BYTES} bytes or members")
        out.append(member)
    return out
