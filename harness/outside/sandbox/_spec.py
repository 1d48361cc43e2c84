"""What the sandbox shows: the caller's spec and the list of mounts made from it.

Everything here is pure bookkeeping plus one cached look at the interpreter (which
directories a given Python needs). The mount list is computed once and used twice:
for bwrap's arguments and for the signed report, so the report cannot drift from
what was actually mounted.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

#: The uid and gid the sandboxed process has inside its user namespace ("nobody").
SANDBOX_UID = 65534
SANDBOX_GID = 65534

#: The smallest memory cap accepted: below this a CPython interpreter cannot start
#: (an idle ``python -I`` already maps ~6 MB of data, ~36 MB after the web stack's imports).
MIN_MEMORY_MB = 64

Mode = Literal["ro", "rw"]
#: ``replaced``: a host file shown read-only *instead of* the file at that path (say a CA
#: bundle over certifi's ``cacert.pem``).
Kind = Literal["bind", "tmpfs", "proc", "dev", "file", "symlink", "replaced"]

#: A host name ``/etc/hosts`` may give an address: DNS labels, lower case, at least one dot
#: (``localhost`` and single labels stay the sandbox's own).
_HOST_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+"
                        r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")

#: Host top-level entries that (on merged-/usr systems) are symlinks into /usr.
#: Mirrored as symlinks when they are symlinks, ro-bound when they are real folders.
_TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

#: The part of the host's /etc a Python process needs: the dynamic loader's cache,
#: the time zone, public CA certificates and OpenSSL's config, MIME types (mimetypes,
#: Starlette's FileResponse). No secrets: never /etc/ssl/private, /etc/shadow & co.
_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/mime.types",
)

#: Generated files shown instead of the host's: only the sandbox user exists and
#: "localhost" resolves (there is no network, but libraries look it up).
GENERATED_FILES = ("/etc/passwd", "/etc/group", "/etc/hosts")


def generated_files(uid: int, hosts: Mapping[str, str] | None = None) -> Mapping[str, bytes]:
    """The contents of :data:`GENERATED_FILES` for a sandbox whose user is ``uid``;
    ``hosts`` (name -> loopback address) are added to ``/etc/hosts``."""
    extra = "".join(f"{address}\t{name}\n" for name, address in (hosts or {}).items())
    return MappingProxyType({
        "/etc/passwd": f"sandbox:x:{uid}:{uid}:sandbox:/nonexistent:/usr/sbin/nologin\n"
                       .encode(),
        "/etc/group": f"sandbox:x:{uid}:\n".encode(),
        "/etc/hosts": ("127.0.0.1\tlocalhost\n::1\tlocalhost\n" + extra).encode(),
    })


class SandboxSpecError(ValueError):
    """The spec asks for something the sandbox refuses to show or cannot give."""


@dataclass(frozen=True)
class SandboxSpec:
    """What one sandboxed command sees and may use.

    ``python`` is the interpreter whose installation is made visible read-only (its
    ``sys.prefix``, ``sys.base_prefix``, ``sys.exec_prefix`` and the real folder its
    executable lives in); ``None`` shows no interpreter (``/usr`` only). ``env`` is the
    complete environment of the command: nothing of the caller's is inherited.
    ``ro_binds`` and ``rw_binds`` are host folders shown at the same path; a bind must
    not go through a symlink and must not be a broad folder (``/``, ``/root``,
    ``/tmp``, the caller's home or one of its ancestors). ``memory_mb`` caps the
    command's private writable memory (``RLIMIT_DATA``, see the package docstring);
    ``tmpfs_mb`` sizes each of the private ``/tmp`` and ``/dev/shm``.

    ``hosts`` (host name -> IPv4 loopback address other than 127.0.0.1) are added to the
    generated ``/etc/hosts``: the names resolve to the sandbox's own loopback, where only
    what the caller puts there answers. ``file_binds`` (path in the sandbox -> host file)
    shows a host file read-only over an existing file of a shown folder (a CA bundle over
    certifi's); the source must not lie in a read-write bind.
    """

    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "/"
    ro_binds: tuple[str, ...] = ()
    rw_binds: tuple[str, ...] = ()
    memory_mb: int = 512
    tmpfs_mb: int = 64
    python: str | None = field(default_factory=lambda: sys.executable)
    #: The user (and group) id inside. A caller may vary it so extension code cannot
    #: tell "under test" from "in production" by its uid.
    uid: int = SANDBOX_UID
    hosts: Mapping[str, str] = field(default_factory=dict)
    file_binds: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = dict(self.env)
        for key, value in env.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise SandboxSpecError(f"invalid environment entry {key!r}")
        object.__setattr__(self, "env", MappingProxyType(env))
        object.__setattr__(self, "hosts", MappingProxyType(_checked_hosts(self.hosts)))
        files = {os.fspath(k): os.fspath(v) for k, v in self.file_binds.items()}
        for path in (*files, *files.values()):
            if not os.path.isabs(path) or "\0" in path or os.path.normpath(path) != path:
                raise SandboxSpecError(f"file binds need absolute, normal paths: {path!r}")
        object.__setattr__(self, "file_binds", MappingProxyType(files))
        object.__setattr__(self, "ro_binds", tuple(os.fspath(p) for p in self.ro_binds))
        object.__setattr__(self, "rw_binds", tuple(os.fspath(p) for p in self.rw_binds))
        for path in (self.cwd, *self.ro_binds, *self.rw_binds):
            if not os.path.isabs(path) or "\0" in path:
                raise SandboxSpecError(f"sandbox paths must be absolute: {path!r}")
        if self.memory_mb < MIN_MEMORY_MB:
            raise SandboxSpecError(f"memory_mb must be at least {MIN_MEMORY_MB}")
        if not 1 <= self.uid < 2**31 - 1:
            raise SandboxSpecError(f"uid must be a positive id, not {self.uid}")
        if self.tmpfs_mb < 1:
            raise SandboxSpecError("tmpfs_mb must be at least 1")


def _checked_hosts(hosts: Mapping[str, str]) -> dict[str, str]:
    """``hosts`` checked: DNS names (not ``localhost``) -> distinct loopback IPv4 addresses
    other than 127.0.0.1 (which is the sandbox's own, where the worker's hosts answer)."""
    checked: dict[str, str] = {}
    for name, address in hosts.items():
        if not _HOST_NAME.match(name) or name.endswith(".localhost"):
            raise SandboxSpecError(f"hosts: {name!r} is not a host name the sandbox can show")
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            raise SandboxSpecError(f"hosts: {name} -> {address!r} is not an IPv4 address") from None
        if not ip.is_loopback or str(ip) == "127.0.0.1" or str(ip) != address:
            raise SandboxSpecError(f"hosts: {name} -> {address}: only loopback addresses other "
                                   "than 127.0.0.1 exist in the sandbox")
        if address in checked.values():
            raise SandboxSpecError(f"hosts: {address} is given to two names")
        checked[name] = address
    return checked


@dataclass(frozen=True)
class Mount:
    """One entry of the sandbox's filesystem; ``source`` is the host path for binds,
    the link target for symlinks, the generated file's name for files."""

    path: str
    mode: Mode
    kind: Kind
    source: str = ""


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


def _broad_folders() -> set[str]:
    """Folders never shown whole: they hold other people's data or the caller's keys."""
    broad = {"/", "/root", "/home", "/tmp", "/var", "/etc", "/run", "/srv", "/mnt", "/media",
             "/opt", "/proc", "/sys", "/dev", "/boot"}
    home = os.environ.get("HOME")
    for candidate in (home, os.path.expanduser("~")):
        if candidate and os.path.isabs(candidate):
            real = os.path.realpath(candidate)
            broad.add(real)
            while real != "/":
                real = os.path.dirname(real)
                broad.add(real)
    return broad


def _refuse_broad(path: str, what: str) -> None:
    if path in _broad_folders():
        raise SandboxSpecError(f"{what} {path} is too broad to show in the sandbox")


def _checked_bind(path: str, what: str) -> str:
    """``path`` normalised; refused when missing, broad or reached through a symlink.

    bwrap resolves symlinks in a bind's source; a link planted in a folder an earlier
    sandbox could write would otherwise bind whatever it points at.
    """
    norm = os.path.normpath(path)
    real = os.path.realpath(norm)
    _refuse_broad(norm, what)
    if real != norm:
        raise SandboxSpecError(f"{what} {path} goes through a symlink (to {real})")
    if not os.path.exists(norm):
        raise SandboxSpecError(f"{what} {path} does not exist")
    return norm


@functools.lru_cache(maxsize=16)
def interpreter_dirs(python: str) -> tuple[str, ...]:
    """The folders ``python`` needs, as real paths, outermost first, without nesting.

    The interpreter is asked (``-I``: no site customisation, no environment) for its
    prefixes; this is the trusted interpreter, not extension code. Each folder is
    also shown at its symlinked spelling if that differs (a venv's ``home`` link).
    """
    script = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, "
              "sys.exec_prefix, sys.base_exec_prefix, os.path.realpath(sys.executable)]))")
    try:
        done = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True,
                              timeout=30, check=False, env={}, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxSpecError(f"cannot run the interpreter {python}: {exc}") from None
    if done.returncode != 0:
        raise SandboxSpecError(f"cannot run the interpreter {python}: {done.stderr[-500:]}")
    *prefixes, real_exe = json.loads(done.stdout)
    candidates = {os.path.normpath(p) for p in prefixes}
    # the installation the executable really belongs to: <prefix>/bin/pythonX.Y
    candidates.add(os.path.dirname(os.path.dirname(real_exe)))
    real_exe_given = os.path.realpath(python)
    candidates.add(os.path.dirname(os.path.dirname(real_exe_given)))
    shown: set[str] = set()
    for folder in candidates:
        for spelling in {folder, os.path.realpath(folder)}:
            _refuse_broad(spelling, "interpreter folder")
            shown.add(spelling)
    return _outermost(shown)


def _outermost(paths: set[str]) -> tuple[str, ...]:
    """Drop the paths already inside another one (``/usr/local`` under ``/usr``)."""
    kept: list[str] = []
    for path in sorted(paths, key=lambda p: (_depth(p), p)):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(kept)


def _writable_without_capabilities(path: str) -> bool:
    """Whether plain mode bits let the caller's uid/gid write in ``path``.

    The sandboxed process runs as the caller's host uid with no capabilities (for a
    root caller: host uid 0 *without* CAP_DAC_OVERRIDE), so a folder owned by another
    user, e.g. one chowned to ``nobody`` for a plain setuid worker, is not writable.
    """
    st = os.stat(path)
    if st.st_uid == os.geteuid():
        bits = stat.S_IWUSR | stat.S_IXUSR
    elif st.st_gid == os.getegid():
        bits = stat.S_IWGRP | stat.S_IXGRP
    else:
        bits = stat.S_IWOTH | stat.S_IXOTH
    return stat.S_ISDIR(st.st_mode) and st.st_mode & bits == bits


def _host_etc() -> list[Mount]:
    mounts: list[Mount] = []
    for path in _ETC_FILES:
        if os.path.islink(path) and os.path.realpath(path).startswith("/usr/"):
            mounts.append(Mount(path, "ro", "symlink", os.readlink(path)))
        elif os.path.exists(path):
            mounts.append(Mount(path, "ro", "bind", os.path.realpath(path)))
    return mounts


def plan_mounts(spec: SandboxSpec) -> tuple[Mount, ...]:
    """Every mount of the sandbox, in the order bwrap must make them.

    The fixed skeleton first (``/usr``, top-level links, ``/proc``, ``/dev``, the
    private tmpfs, ``/etc`` pieces), then every bind by depth so that a deeper bind
    (say a read-write work folder inside a read-only tree) lands on top.
    """
    mounts: list[Mount] = [Mount("/usr", "ro", "bind", "/usr")]
    for top in _TOP_LEVEL:
        if os.path.islink(top):
            mounts.append(Mount(top, "ro", "symlink", os.readlink(top)))
        elif os.path.isdir(top):
            mounts.append(Mount(top, "ro", "bind", top))
    mounts += [
        Mount("/proc", "rw", "proc"),
        Mount("/dev", "ro", "dev"),
        Mount("/dev/shm", "rw", "tmpfs"),
        Mount("/tmp", "rw", "tmpfs"),
    ]
    mounts += _host_etc()
    mounts += [Mount(path, "ro", "file", path) for path in GENERATED_FILES]

    binds: dict[str, Mode] = {}
    if spec.python is not None:
        for folder in interpreter_dirs(spec.python):
            if folder != "/usr" and not folder.startswith("/usr/"):
                binds[folder] = "ro"
    for path in spec.ro_binds:
        binds[_checked_bind(path, "read-only bind")] = "ro"
    for path in spec.rw_binds:
        norm = _checked_bind(path, "read-write bind")
        if binds.get(norm) == "ro":
            raise SandboxSpecError(f"{path} is already shown read-only (asked or interpreter)")
        if not os.path.isdir(norm) or not _writable_without_capabilities(norm):
            raise SandboxSpecError(
                f"read-write bind {path} must be a folder writable by uid {os.geteuid()} "
                "through its mode bits (the sandbox has no capabilities)")
        binds[norm] = "rw"
    for path in sorted(binds, key=lambda p: (_depth(p), p)):
        mounts.append(Mount(path, binds[path], "bind", path))
    mounts += _file_binds(spec, binds)
    return tuple(mounts)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _file_binds(spec: SandboxSpec, binds: Mapping[str, Mode]) -> list[Mount]:
    """The spec's file binds, after every folder: a host file over a file already shown.

    The target must be a regular file (no symlink on its path) inside ``/usr`` or a
    read-only folder the sandbox shows, so the mount point exists and nothing inside can
    swap it; the source a regular file outside every read-write bind (else the sandbox
    could rewrite what it is shown).
    """
    mounts = []
    shown_ro = ["/usr", *(p for p, mode in binds.items() if mode == "ro")]
    writable = [p for p, mode in binds.items() if mode == "rw"]
    for target, source in sorted(spec.file_binds.items()):
        for path, what in ((target, "file bind target"), (source, "file bind source")):
            if os.path.realpath(path) != path:
                raise SandboxSpecError(f"{what} {path} goes through a symlink")
            if not os.path.isfile(path):
                raise SandboxSpecError(f"{what} {path} is not a regular file")
        if not any(_inside(target, folder) for folder in shown_ro):
            raise SandboxSpecError(f"file bind target {target} is not in a read-only folder "
                                   "the sandbox shows")
        if any(_inside(source, folder) for folder in writable):
            raise SandboxSpecError(f"file bind source {source} lies in a read-write bind")
        mounts.append(Mount(target, "ro", "replaced", source))
    return mounts
