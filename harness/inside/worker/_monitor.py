"""Runtime capability monitor: what each extension touches, seen through PEP 578 audit hooks.

**A detector, not a sandbox.** The hook records (capped, deduplicated) and never
blocks: raising from an audit hook would abort the operation, but it cannot make
the worker safe (audit hooks see only what CPython audits, and C extensions,
``ctypes`` or a forked child escape them), so pretending to enforce would only
hide that limit. The parent compares what was *observed during the requests the
harness made* with what ``extension.toml [capabilities]`` declares, and the
report says so.

What is recorded, per extension root (a folder the worker appended to
``sys.path`` to load an extension):

* **file** — ``open`` (builtin, ``os.open``, ``io.open_code``), directory
  listings, and path-changing ``os`` calls (mkdir, remove, rename, symlink,
  link, chmod, chown, truncate, utime). Not recorded: reads of interpreter code
  (stdlib, site-packages, the harness), anything in the extension's own folder,
  the worker's temp folder and cwd. Storage areas of hosts (``dbh-storage-*``
  inside the temp folder) are recorded with their owner, so the parent can tell
  an extension's own storage from another's.
* **network** — ``socket.connect``, ``socket.bind``, ``socket.sendto``,
  ``socket.sendmsg`` and *name lookups* of real host names (``getaddrinfo``,
  ``gethostbyname``, ``gethostbyaddr``, ``getnameinfo``). Lookups count because
  the DNS query itself leaves the machine and can carry data out (a lookup of
  ``<secret>.attacker.example`` needs no connect); lookups of ``localhost`` and
  of literal IP addresses send no query and are not recorded.
* **subprocess** — ``subprocess.Popen``, ``os.system``, ``os.exec*``,
  ``os.posix_spawn``, ``os.spawn*``, ``os.fork``, ``os.forkpty``, ``pty.spawn``.
* **native** — ``ctypes`` loading libraries and calling or reading raw memory.

Attribution walks the Python frames of the audited call upward, reading each
module's ``__file__`` from ``f_globals`` (no audit event, no ``f_code``), past
library code (stdlib, site-packages) to the first frame that is either an
extension's (the event is its doing) or anything else — the harness: a host
service the extension called, or a core handler an extension's middleware
wrapped (the host's doing). Events in a thread whose target or class comes
from an extension are attributed to it too. Events with no extension frame
(the host's own work, or work an extension handed to a shared thread pool,
e.g. ``run_in_executor(None, os.system, ...)``) are not attributed;
subprocess and native ones are kept apart as *unattributed*.
Code that runs with crafted globals (``exec`` with a fresh namespace) is not
attributed either: this is a detector for honest mistakes and careless
dependencies, and the static import policy covers deliberate tampering.

Events are bucketed: bucket 0 holds everything before the first
:meth:`Monitor.begin_window` (the worker's ``load``, i.e. import time);
each window gets a fresh bucket, so a check sees the import-time events and
its own, never those of an earlier check.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import sysconfig
import tempfile
import threading
import weakref
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MAX_RECORDS",
    "MAX_UNATTRIBUTED",
    "STORAGE_PREFIXES",
    "WATCHED_EVENTS",
    "Monitor",
    "active",
    "deactivate",
    "install",
]

#: Distinct records kept per extension root and bucket; the rest are counted.
MAX_RECORDS = 256
#: Subprocess/native events with no extension frame kept per bucket.
MAX_UNATTRIBUTED = 32
#: Temp-folder children that are host storage areas: ``<prefix>XXXX/<owner>/...``.
STORAGE_PREFIXES = ("dbh-storage-", "dbh-lc-", "dbh-probe-")

_OPEN = "open"
_READS = frozenset({"os.listdir", "os.scandir"})
_WRITES = frozenset({"os.mkdir", "os.remove", "os.rmdir", "os.chmod", "os.chown",
                     "os.truncate", "os.utime"})
_TWO_PATHS = frozenset({"os.rename", "os.link", "os.symlink"})
_RELINK = frozenset({"os.rename", "os.symlink", "os.remove", "os.rmdir"})
_CONNECT = frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"})
_LOOKUP = frozenset({"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                     "socket.getnameinfo"})
_SUBPROCESS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                         "os.spawn", "os.fork", "os.forkpty", "pty.spawn"})
_NATIVE = frozenset({"ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata",
                     "ctypes.string_at", "ctypes.wstring_at", "ctypes.PyObj_FromPtr"})
WATCHED_EVENTS = frozenset(
    {_OPEN, *_READS, *_WRITES, *_TWO_PATHS, *_CONNECT, *_LOOKUP, *_SUBPROCESS, *_NATIVE}
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
#: Read-only system data the standard library itself reads on an extension's behalf
#: (``mimetypes`` for FileResponse, ``zoneinfo``, ``platform``).
_SYSTEM_DATA = ("/etc/mime.types", "/etc/localtime", "/etc/timezone", "/etc/os-release",
                "/usr/lib/os-release", "/usr/share/zoneinfo/", "/usr/share/mime/", "/dev/null")
_POOL_MODULES = ("concurrent.futures", "anyio.", "asyncio.")
#: Attribution marker: the first non-library frame is the harness's own code.
_HOST = "\0host"
_HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

Record = dict[str, Any]
Facts = tuple[str, list[tuple[str, bool]]]


def _text(value: object, limit: int = 300) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, list | tuple):
        value = " ".join(_text(v, limit) for v in value)
    return str(value)[:limit]


def _address(address: object) -> str | None:
    """``host:port`` (``[v6]:port``) for an inet address, ``unix:PATH`` for a unix one."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = _text(address[0], 255).lower()
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{address[1]}"
    if isinstance(address, str | bytes):
        return "unix:" + _text(address)
    return None


def _queries_dns(host: object) -> bool:
    """Whether looking ``host`` up can send a query off the machine."""
    if host is None:
        return False
    name = _text(host, 255).strip().lower().rstrip(".")
    if not name or name == "localhost" or name.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return True
    return False


def _is_write(args: tuple[Any, ...]) -> bool:
    flags = args[2] if len(args) > 2 else None
    if isinstance(flags, int):
        return bool(flags & _WRITE_FLAGS)
    mode = args[1] if len(args) > 1 else None
    return isinstance(mode, str) and any(c in mode for c in "wax+")


def _dirs(paths: Iterable[str | None]) -> tuple[str, ...]:
    out = []
    for p in paths:
        if p:
            for variant in {os.path.abspath(p), os.path.realpath(p)}:
                out.append(variant.rstrip(os.sep) + os.sep)
    return tuple(sorted(set(out)))


def _code_dirs() -> tuple[str, ...]:
    """Where interpreter and library code lives: reading it is always fine.

    Besides the interpreter's own folders, every site folder on the path at start: when
    the worker runs in an extension's environment of declared dependencies, the harness's
    own site-packages (httpx, Starlette, ...) are added there by a ``.pth`` file and are
    library code all the same, so a call through them is still attributed to the
    extension that made it.
    """
    paths = sysconfig.get_paths()
    site_dirs = [p for p in sys.path
                 if p and os.path.basename(os.path.normpath(p)) in ("site-packages",
                                                                    "dist-packages")]
    return _dirs([sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  paths.get("stdlib"), paths.get("platstdlib"), paths.get("purelib"),
                  paths.get("platlib"), *site_dirs, _HARNESS_DIR])


class Monitor:
    """Records capability use per extension root. Install one with :func:`install`.

    ``roots`` fixes the extension roots (tests); by default they are the
    ``sys.path`` entries added after the monitor was created (the worker appends
    one per extension when it loads it).
    """

    def __init__(self, roots: Iterable[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._busy: set[int] = set()
        self._file_roots: dict[str, str] = {}
        self._real_paths: dict[str, str] = {}
        self.errors = 0
        self._fixed = None if roots is None else _dirs(roots)
        self._baseline = set(sys.path)
        self._path_len = -1
        self._roots: tuple[str, ...] = self._fixed or ()
        self._readable = _code_dirs() + _SYSTEM_DATA
        self._harness = _HARNESS_DIR
        self._library = tuple(d for d in _code_dirs() if d != _HARNESS_DIR)
        self._temp = _dirs([tempfile.gettempdir(), os.getcwd()])
        self._storage_bases = tuple(os.path.realpath(tempfile.gettempdir()) + os.sep + p
                                    for p in STORAGE_PREFIXES)
        self._threads: weakref.WeakKeyDictionary[threading.Thread, str] = (
            weakref.WeakKeyDictionary()
        )
        self._window = 0
        self._buckets: dict[tuple[int, str], dict[tuple[Any, ...], Record]] = {}
        self._dropped: dict[tuple[int, str], int] = {}
        self._unattributed: dict[int, list[Record]] = {}

    # -- roots -------------------------------------------------------------
    @property
    def roots(self) -> tuple[str, ...]:
        if self._fixed is None and len(sys.path) != self._path_len:
            self._refresh()
        return self._roots

    def _refresh(self) -> None:
        self._path_len = len(sys.path)
        added = [p for p in sys.path if p not in self._baseline and isinstance(p, str)]
        code = _code_dirs()
        roots = [r for r in _dirs(added) if r != os.sep and not r.startswith(code)
                 and not any(c.startswith(r) for c in code)]
        self._roots = tuple(roots)
        self._file_roots.clear()

    # -- windows -----------------------------------------------------------
    def begin_window(self) -> int:
        """Start a fresh bucket for a check; earlier windows are discarded."""
        with self._lock:
            old = self._window
            self._window += 1
            if old:
                for key in [k for k in self._buckets if k[0] == old]:
                    del self._buckets[key]
                self._dropped = {k: v for k, v in self._dropped.items() if k[0] != old}
                self._unattributed.pop(old, None)
            return self._window

    @property
    def window(self) -> int:
        return self._window

    def usage(self, root: str) -> dict[str, Any]:
        """Import-time (``load``) and current-window (``window``) records under ``root``."""
        prefix = _dirs([root])
        with self._lock:
            out: dict[str, Any] = {"load": [], "window": [], "dropped": 0}
            for (bucket, owner), records in self._buckets.items():
                if not owner.startswith(prefix):
                    continue
                key = "load" if bucket == 0 else "window"
                if bucket not in (0, self._window):
                    continue
                out[key].extend(dict(r) for r in records.values())
                out["dropped"] += self._dropped.get((bucket, owner), 0)
            return out

    def unattributed(self) -> list[Record]:
        """Subprocess/native events of the current window no extension frame explains."""
        with self._lock:
            return [dict(r) for r in self._unattributed.get(self._window, [])]

    # -- the hook ------------------------------------------------------------
    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        """The audit hook body; cheap for events it does not watch.

        A per-thread re-entrancy guard: the hook's own work (``sys._getframe``,
        reading ``f_code``, resolving paths) raises audit events too.
        """
        if event not in WATCHED_EVENTS:
            return
        if self._fixed is None and len(sys.path) != self._path_len:
            self._refresh()
        roots = self._roots
        if not roots:
            return
        busy, ident = self._busy, threading.get_ident()
        if ident in busy:
            return
        busy.add(ident)
        try:
            if event in _RELINK:
                self._real_paths.clear()
            facts = self._facts(event, args)
            if facts is not None:
                self._place(event, facts, roots)
        except Exception:  # a detector must never break the code it watches
            self.errors += 1
        finally:
            busy.discard(ident)

    def _place(self, event: str, facts: Facts, roots: tuple[str, ...]) -> None:
        owner, file, line = self._attribute(roots)
        if owner is None:
            if facts[0] in ("subprocess", "native"):
                self._note_unattributed(event, facts)
            return
        for fact in self._judge_files(owner, facts):
            where = f"{file[len(owner):]}:{line}" if file else "(thread started by the extension)"
            self._record(owner, where, event, fact)

    def _facts(self, event: str, args: tuple[Any, ...]) -> Facts | None:
        """(kind, [(target, write)]) for an event worth attributing, or None."""
        if event == _OPEN or event in _READS or event in _WRITES:
            path = args[0] if args else None
            if path is None and event in _READS:
                path = "."
            if path.__class__ is not str:
                if not isinstance(path, bytes | os.PathLike):
                    return None  # a file descriptor: its open was seen already
                path = os.fsdecode(path)
            if path[:1] != os.sep or "/." in path or "//" in path:
                path = os.path.abspath(path)  # lexical: ``..`` cannot pass the prefix test
            write = _is_write(args) if event == _OPEN else event not in _READS
            if not write and path.startswith(self._readable):
                return None
            return "file", [(path, write)]
        if event in _TWO_PATHS:
            paths = [a for a in args[:2] if isinstance(a, str | bytes | os.PathLike)]
            targets = [os.path.abspath(os.fsdecode(p)) for p in paths]
            if event == "os.rename":
                return "file", [(t, True) for t in targets]
            return "file", [(t, i == 1) for i, t in enumerate(targets)]  # source read, link written
        if event in _CONNECT:
            target = _address(args[1] if len(args) > 1 else None)
            return None if target is None else ("network", [(target, event == "socket.bind")])
        if event in _LOOKUP:
            host = args[0] if args else None
            if event == "socket.getnameinfo" and isinstance(host, tuple):
                host = host[0] if host else None
            if not _queries_dns(host):
                return None
            port = args[1] if event == "socket.getaddrinfo" and len(args) > 1 else None
            target = f"{_text(host, 255).lower()}:{'*' if port in (None, 0, '') else port}"
            return "network", [(target, False)]
        if event in _SUBPROCESS:
            index = {"subprocess.Popen": 1, "os.exec": 1, "os.posix_spawn": 1, "os.spawn": 2}
            at = index.get(event, 0)
            shown = args[at] if len(args) > at else None
            return "subprocess", [(_text(shown or event), False)]
        if event in _NATIVE:
            name = _text(args[0]) if event == "ctypes.dlopen" and args else (
                _text(args[1]) if event == "ctypes.dlsym" and len(args) > 1 else "")
            return "native", [(name or event, False)]
        return None

    def _attribute(self, roots: tuple[str, ...]) -> tuple[str | None, str, int]:
        """(root, file, line) of the extension that performed the audited call.

        The first frame above the call that is not library code (stdlib,
        site-packages) decides: an extension's frame attributes the event to it;
        any other code (the harness: a host service the extension called, or a
        core handler an extension's middleware wrapped) means the host did it.
        Frames without ``__file__`` (code run by ``exec``) are passed over.
        """
        cache = self._file_roots
        frame = sys._getframe(1)
        own = globals()
        while frame is not None and frame.f_globals is own:  # the hook's own frames
            frame = frame.f_back  # type: ignore[assignment]
        while frame is not None:
            file = frame.f_globals.get("__file__")
            if file.__class__ is str:
                root = cache.get(file)
                if root is None:
                    root = cache[file] = self._classify(file, roots)
                if root is _HOST:
                    return None, "", 0
                if root:
                    return root, file, frame.f_lineno
            frame = frame.f_back  # type: ignore[assignment]
        return self._thread_owner(roots), "", 0

    def _classify(self, file: str, roots: tuple[str, ...]) -> str:
        """The extension root ``file`` lies under, :data:`_HOST`, or "" for library code."""
        root = next((r for r in roots if file.startswith(r)), "")
        if root:
            return root
        if file.startswith(self._harness) or not file.startswith(self._library):
            return _HOST
        return ""

    def _thread_owner(self, roots: tuple[str, ...]) -> str | None:
        """The extension that started the current thread (by its target or class)."""
        ident = threading.get_ident()
        if ident == threading.main_thread().ident:
            return None
        thread = getattr(threading, "_active", {}).get(ident)
        if thread is None:
            return None
        if thread in self._threads:
            return self._threads[thread] or None
        owner = ""
        candidates = [getattr(thread, "_target", None), type(thread)]
        for obj in candidates:
            module = getattr(obj, "__module__", None)
            if not isinstance(module, str) or module.startswith(_POOL_MODULES):
                continue
            file = getattr(sys.modules.get(module), "__file__", None)
            if isinstance(file, str) and file.startswith(roots):
                owner = next(r for r in roots if file.startswith(r))
                break
        self._threads[thread] = owner
        return owner or None

    def _judge_files(
        self, owner: str, facts: Facts
    ) -> list[tuple[str, str, bool, str | None]]:
        """(kind, target, write, storage owner) of the facts the parent must judge."""
        kind, items = facts
        if kind != "file":
            return [(kind, t, w, None) for t, w in items]
        out: list[tuple[str, str, bool, str | None]] = []
        for target, write in items:
            real = self._resolve(target)
            if real.startswith(owner) or (real + os.sep) == owner:
                continue
            storage = self._storage_owner(real)
            if storage is not None:
                out.append((kind, real, write, storage))
            elif not real.startswith(self._temp):
                out.append((kind, real, write, None))
        return out

    def _resolve(self, path: str) -> str:
        """``os.path.realpath``, cached (the cache is cleared by any rename or symlink)."""
        real = self._real_paths.get(path)
        if real is None:
            if len(self._real_paths) > 8192:
                self._real_paths.clear()
            real = self._real_paths[path] = os.path.realpath(path)
        return real

    def _storage_owner(self, real: str) -> str | None:
        for base in self._storage_bases:
            if real.startswith(base):
                rest = real[len(base):].split(os.sep)
                return rest[1] if len(rest) > 1 and rest[1] else ""
        return None

    def _record(self, owner: str, where: str, event: str,
                fact: tuple[str, str, bool, str | None]) -> None:
        kind, target, write, storage = fact
        if storage is not None:
            key: tuple[Any, ...] = (kind, "storage", storage, write)
        else:
            key = (kind, event, target, write)
        bucket = (self._window, owner)
        with self._lock:
            records = self._buckets.setdefault(bucket, {})
            found = records.get(key)
            if found is not None:
                found["count"] += 1
                return
            if len(records) >= MAX_RECORDS:
                self._dropped[bucket] = self._dropped.get(bucket, 0) + 1
                return
            record: Record = {"kind": kind, "event": event, "target": target,
                              "write": write, "count": 1, "where": where}
            if storage is not None:
                record["storage_owner"] = storage
            records[key] = record

    def _note_unattributed(self, event: str, facts: Facts) -> None:
        with self._lock:
            kept = self._unattributed.setdefault(self._window, [])
            if len(kept) < MAX_UNATTRIBUTED:
                kept.append({"kind": facts[0], "event": event, "target": facts[1][0][0]})


_ACTIVE: Monitor | None = None
_INSTALLED = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    monitor = _ACTIVE
    if monitor is not None and event in WATCHED_EVENTS:
        monitor.audit(event, args)


def install(monitor: Monitor | None = None) -> Monitor:
    """Make ``monitor`` (a new one by default) the active one; add the hook once.

    Audit hooks cannot be removed, so one module-level hook dispatches to the
    active monitor; call this before any extension code is imported.
    """
    global _ACTIVE, _INSTALLED
    chosen = monitor if monitor is not None else Monitor()
    _ACTIVE = chosen
    if not _INSTALLED:
        sys.addaudithook(_hook)
        _INSTALLED = True
    return chosen


def active() -> Monitor | None:
    """The monitor events go to, if one was installed."""
    return _ACTIVE


def deactivate() -> None:
    """Stop dispatching (the hook stays: hooks cannot be removed); for tests."""
    global _ACTIVE
    _ACTIVE = None

