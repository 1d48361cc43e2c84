"""Give the worker its own copy of the extension, and nothing more.

Folders are copied (symlinks as links); wheels and sdists are extracted member
by member. Compiled bytecode is left out — ``__pycache__`` folders and every
``*.pyc``/``*.pyo`` — so the worker imports the sources the checks read and no
bytecode from the artifact can run during certification; everything else is
copied (the folder walk is the digest's, :func:`._tree.walk`). Only a
parent-side extraction that is read, never imported, may ask to keep it
(``keep_bytecode=True``) so the static checks see every member.

Nothing is written through a symlink, no member may land outside the
destination, and a link that resolves outside it is refused. Work happens in a
staging folder beside ``dest`` that is renamed into place at the end, so a
failure leaves nothing half-written. Everything ends up world-readable (files
0644, folders 0755) because the worker may run as an unprivileged uid.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from dufflebag_harness.outside.loader._archives import archive_kind, members
from dufflebag_harness.outside.loader._errors import ArtifactError
from dufflebag_harness.outside.loader._tree import is_bytecode, walk
from dufflebag_harness.outside.loader.manifest import MANIFEST_NAME

__all__ = ["materialize"]

_CHUNK = 1 << 16


def materialize(path: Path, dest: Path, *, keep_bytecode: bool = False) -> Path:
    """Copy or extract the extension at ``path`` into ``dest``; return its root.

    Without ``keep_bytecode`` no ``__pycache__`` folder and no ``*.pyc``/``*.pyo``
    is written: that is the copy a worker may import.

    ``dest`` must not exist or be an empty folder. The root is the folder that
    holds ``extension.toml``: ``dest`` itself, the single top folder of an sdist,
    or — for a wheel shipping it in ``*.dist-info/`` — ``dest`` with a copy of it.
    Raises :class:`ArtifactError` naming the artifact and the offending member.
    """
    path, dest = Path(path), Path(dest)
    kind = None if path.is_dir() else archive_kind(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file or folder")
    if not path.is_dir() and kind is None:
        raise ArtifactError(f"{path}: not a folder, wheel (.whl) or sdist (.tar.gz, .zip)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ArtifactError(f"{dest}: destination exists and is not an empty folder")
    if path.is_dir() and dest.resolve().is_relative_to(path.resolve()):
        raise ArtifactError(f"{dest}: destination is inside the extension folder {path}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        if kind is None:
            _copy_folder(path, staging, keep_bytecode)
        else:
            with members(path) as found:
                _write_all(path, staging, ((m.name, m.link, m.chunks()) for m in found
                                           if keep_bytecode or not is_bytecode(m.name)))
        _refuse_escaping_links(path, staging)
        root = _find_root(path, staging)
        _open_up(staging)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest / root


def _copy_folder(source: Path, staging: Path, keep_bytecode: bool) -> None:
    def chunks(file: Path) -> Iterator[bytes]:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk

    entries = walk(source, bytecode=keep_bytecode)
    _write_all(source, staging, ((e.rel, e.link, chunks(e.path)) for e in entries))


def _write_all(
    artifact: Path, staging: Path, items: Iterable[tuple[str, str | None, Iterable[bytes]]]
) -> None:
    """Write files first, links last, so no file is ever written through a link."""
    links: list[tuple[str, str]] = []
    for rel, link, chunks in items:
        if link is not None:
            links.append((rel, link))
            continue
        target = _prepare(artifact, staging, rel)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            raise ArtifactError(f"{artifact}: member {rel!r} conflicts with another") from None
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    for rel, link in links:
        try:
            os.symlink(link, _prepare(artifact, staging, rel))
        except FileExistsError:
            raise ArtifactError(f"{artifact}: link {rel!r} conflicts with another member") from None


def _prepare(artifact: Path, staging: Path, rel: str) -> Path:
    """Create the parent folders of ``rel``; refuse a parent that is a link or a file."""
    target = staging / rel
    if rel.startswith("/") or not os.path.normpath(target).startswith(f"{staging}{os.sep}"):
        raise ArtifactError(f"{artifact}: member {rel!r} would land outside the destination")
    current = staging
    for part in rel.split("/")[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            raise ArtifactError(f"{artifact}: member {rel!r} lies under a symlink or a file")
        current.mkdir(mode=0o755, exist_ok=True)
    return target


def _refuse_escaping_links(artifact: Path, staging: Path) -> None:
    top = staging.resolve()
    for folder, dirs, files in os.walk(staging):
        for name in (*dirs, *files):
            link = Path(folder, name)
            if link.is_symlink() and not Path(os.path.realpath(link)).is_relative_to(top):
                rel = link.relative_to(staging).as_posix()
                target = os.readlink(link)
                raise ArtifactError(f"{artifact}: link {rel!r} -> {target!r} leaves the extension")


def _find_root(artifact: Path, staging: Path) -> str:
    def has_manifest(folder: Path) -> bool:
        file = folder / MANIFEST_NAME
        return file.is_file() and not file.is_symlink() and not folder.is_symlink()

    if has_manifest(staging):
        return "."
    tops = [p for p in staging.iterdir() if not p.name.endswith(".dist-info")]
    if len(tops) == 1 and tops[0].is_dir() and has_manifest(tops[0]):
        return tops[0].name
    shipped = [d for d in staging.glob("*.dist-info") if has_manifest(d)]
    if len(shipped) == 1:
        shutil.copyfile(shipped[0] / MANIFEST_NAME, staging / MANIFEST_NAME)
        return "."
    raise ArtifactError(
        f"{artifact}: no {MANIFEST_NAME} at the top, in the single top folder, "
        "or in exactly one *.dist-info/"
    )


def _open_up(staging: Path) -> None:
    os.chmod(staging, 0o755)
    for folder, dirs, files in os.walk(staging):
        for name in dirs:
            if not Path(folder, name).is_symlink():
                os.chmod(Path(folder, name), 0o755)
        for name in files:
            if not Path(folder, name).is_symlink():
                os.chmod(Path(folder, name), 0o644)
