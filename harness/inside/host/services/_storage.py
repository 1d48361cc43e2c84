"""Storage service: files under one root, traversal-proof, written atomically.

Every path is checked twice: lexically (relative, ``/``-separated, no ``..``,
no NUL, no backslash) and after resolution (``Path.resolve`` must stay
``is_relative_to`` the resolved root, which catches symlinks pointing out).
Writes go to a temporary file then ``os.replace``, so a reader never sees half
a file. The same class serves the core's upload/download area.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

import anyio.to_thread

from dufflebag_harness.sdk import StorageError

__all__ = ["RootedStorage"]


def relative_storage_path(path: object) -> PurePosixPath:
    """``path`` as a relative storage path, or :class:`StorageError` saying why not.

    The lexical rules every storage (the real one and the test double) applies
    before touching anything: a non-empty string, no NUL, no backslash, not
    absolute, no ``..``.
    """
    if not isinstance(path, str) or not path:
        raise StorageError(f"storage path must be a non-empty string, got {path!r}")
    if "\x00" in path:
        raise StorageError(f"storage path {path!r} contains a NUL byte")
    if "\\" in path:
        raise StorageError(f"storage path {path!r} contains a backslash")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise StorageError(f"storage path {path!r} is absolute; use a relative path")
    if ".." in pure.parts:
        raise StorageError(f"storage path {path!r} contains '..'")
    return pure


class RootedStorage:
    """Implements :class:`dufflebag_harness.sdk.StorageService` over ``root``."""

    def __init__(self, root: Path, *, quota_bytes: int = 0) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._root = root.resolve()
        self._quota = quota_bytes

    @property
    def root(self) -> Path:
        return self._root

    def resolve(self, path: object) -> Path:
        """The absolute file path for ``path``, or :class:`StorageError` saying why not."""
        pure = relative_storage_path(path)
        target = (self._root / pure).resolve()
        if not target.is_relative_to(self._root) or target == self._root:
            raise StorageError(f"storage path {path!r} leaves the storage root")
        return target

    def _usage(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self._root):
            for name in files:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_size
                except OSError:
                    continue
        return total

    def _write(self, target: Path, data: bytes, path: str) -> None:
        if self._quota:
            current = target.stat().st_size if target.is_file() else 0
            if self._usage() - current + len(data) > self._quota:
                raise StorageError(f"storage quota of {self._quota} bytes exceeded by {path!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(self._root):
            raise StorageError(f"storage path {path!r} leaves the storage root")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def write(self, path: str, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StorageError(f"storage data for {path!r} must be bytes")
        target = self.resolve(path)
        await anyio.to_thread.run_sync(self._write, target, bytes(data), path)

    async def read(self, path: str) -> bytes:
        target = self.resolve(path)
        try:
            return await anyio.to_thread.run_sync(target.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageError(f"storage path {path!r} not found") from None

    async def delete(self, path: str) -> None:
        target = self.resolve(path)
        try:
            await anyio.to_thread.run_sync(target.unlink)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise StorageError(f"storage path {path!r} not found") from None

    async def exists(self, path: str) -> bool:
        return self.resolve(path).is_file()

    async def list(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            found: list[str] = []
            for dirpath, _dirs, files in os.walk(self._root):
                for name in files:
                    if name.startswith(".tmp-"):
                        continue
                    rel = Path(dirpath, name).relative_to(self._root).as_posix()
                    if rel.startswith(prefix):
                        found.append(rel)
            return sorted(found)

        return await anyio.to_thread.run_sync(walk)
