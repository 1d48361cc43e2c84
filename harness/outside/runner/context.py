"""The check context the runner hands each check (parent side).

A check talks to hosts the worker runs, over loopback HTTP, and judges what it
sees here in the parent. Anything only the worker can see comes through
:meth:`RunContext.probe` and marks the result self-reported.

Databases: :meth:`RunContext.database` and :meth:`RunContext.scratch_database`
give checks a :class:`dufflebag_harness.conformance.DatabaseView`. On PostgreSQL it reads over
the parent's admin connection (:class:`_InspectedView`), so those results are
judged from outside; on SQLite the database lives in the worker's memory and
every read is a probe (:class:`_ProbedView`), which marks the result
self-reported. Either way the worker is only *driven* (migrations, a query
that never ends) through the same probes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from dufflebag_harness.conformance import CheckFailed, CheckSkipped, HostHandle
from dufflebag_harness.conformance._loopback import loopback_client
from dufflebag_harness.outside.loader import Manifest
from dufflebag_harness.outside.runner.backends import Backends, DatabaseInspector
from dufflebag_harness.outside.test_run import TestRunResult
from dufflebag_harness.outside.worker_client import WorkerClient, WorkerOpError

#: Seeded users every host gets; the parent knows their tokens, the checks use them.
SEED_ROLES: dict[str, tuple[int, tuple[str, ...]]] = {
    "admin": (1, ("admin",)),
    "manager": (2, ("manager",)),
    "user": (3, ("user",)),
    "deleted": (4, ("deleted", "admin", "manager", "user")),
    "outsider": (5, ()),
}


#: The folder each ``host.start`` makes in the worker's TMPDIR for the host's storage
#: (``<prefix>XXXX/<extension>/...``); the parent finds it there, in the worker's own
#: folder, which it sees at the same path as the sandbox does.
STORAGE_PREFIX = "dbh-storage-"
#: What :meth:`RunContext.storage_files` reads at most: per file, in all, and files.
STORAGE_READ_FILE = 16 * 2**20
STORAGE_READ_TOTAL = 128 * 2**20
STORAGE_READ_FILES = 5000


def _storage_dirs(worker: WorkerClient) -> set[Path]:
    tmp = worker.ext_dir.parent / "tmp"
    try:
        return {p for p in tmp.iterdir() if p.name.startswith(STORAGE_PREFIX)}
    except OSError:
        return set()


def read_tree(root: Path) -> dict[str, bytes | None]:
    """Every regular file under ``root`` -> its bytes, read by the parent without following
    a symlink anywhere (``fwalk`` on folder descriptors, ``O_NOFOLLOW``), so nothing in the
    tree can point the read elsewhere; symlinks and special files are not listed. ``None``:
    a file (or a folder, ending in ``/``) that could not be read. Stops at the
    ``STORAGE_READ_*`` limits (a file is cut)."""
    found: dict[str, bytes | None] = {}

    def unreadable(exc: OSError) -> None:  # a folder fwalk could not open or list
        where = os.path.relpath(str(exc.filename or root), root)
        found["." if where == "." else where + os.sep] = None

    try:
        if not stat.S_ISDIR(os.lstat(root).st_mode):
            return {".": None}  # replaced by a link or a file: nothing can be trusted
    except OSError:
        return {".": None}
    total = 0
    for folder, _dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False,
                                                 onerror=unreadable):
        rel_folder = os.path.relpath(folder, root)
        for name in sorted(files):
            if len(found) >= STORAGE_READ_FILES or total >= STORAGE_READ_TOTAL:
                return found
            rel = name if rel_folder == "." else os.path.join(rel_folder, name)
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOENT):  # a symlink; gone meanwhile
                    found[rel] = None
                continue
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    continue
                data = fh.read(min(STORAGE_READ_FILE, STORAGE_READ_TOTAL - total))
            found[rel] = data
            total += len(data)
    return found


T = TypeVar("T")


class SharedValues:
    """What ``RunContext.once`` keeps for a certification: one value per key, computed
    by the first check that asks while the others asking wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = compute()
            return self._values[key]


class HostStartError(Exception):
    """The worker could not start a host (an environment or harness problem)."""


def _raise_import_failure(exc: WorkerOpError) -> None:
    """An extension that cannot be imported fails the check (it is not a harness error)."""
    if exc.kind == "ExtensionImportError":
        raise CheckFailed(f"the extension could not be imported: {exc.message}",
                          {"import_error": exc.message})


@dataclass
class RemoteHost:
    """A host running in the worker, reached over 127.0.0.1."""

    host_id: str
    base_url: str
    tokens: Mapping[str, str]
    load_errors: Mapping[str, str]
    client: httpx.Client
    _worker: WorkerClient
    _release: Callable[[], None] = lambda: None
    closed: bool = False
    #: The ``database`` argument the host was started with (its ``key`` names it).
    database: Mapping[str, Any] = field(default_factory=dict)
    #: The folder of the host's storage in the worker (``None``: not found).
    storage_root: Path | None = None

    def request(
        self, method: str, path: str, *, as_role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if as_role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[as_role]}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.client.close()
        try:
            if not self._worker.dead:
                self._worker.call("host.stop", host_id=self.host_id, timeout=60)
        finally:
            self._release()


@dataclass
class RunContext:
    """Implements :class:`~dufflebag_harness.conformance.CheckContext` for one
    (check, backend) pair."""

    check_id: str
    backend: str
    profile: str
    seed: int
    extension: str
    manifest: Manifest
    backends: Backends
    companion_names: Sequence[str] = ()
    reference: Callable[[], WorkerClient] | None = None
    dependency_names: Sequence[str] = ()
    #: The certification's one run of the extension's tests (run on first use).
    tests: Callable[[], TestRunResult] | None = None
    #: Values computed once per certification and shared between checks (``once``).
    shared: SharedValues | None = None
    attempt: int = 1
    figures: dict[str, Any] = field(default_factory=dict)
    self_reported: bool = False
    hosts: list[RemoteHost] = field(default_factory=list)
    scratch: list[dict[str, Any]] = field(default_factory=list)
    http_timeout_s: float = 20.0
    #: Where the extension's worker comes from, asked on first use: a check that never
    #: touches the worker (a static scan) does not make its lane start one.
    worker_source: Callable[[], WorkerClient] | None = None
    _worker: WorkerClient | None = None

    @property
    def worker(self) -> WorkerClient:
        """The lane's worker with the extension loaded (started now if it is not yet)."""
        if self._worker is None:
            if self.worker_source is None:
                raise RuntimeError("this context has no worker")
            self._worker = self.worker_source()
        return self._worker

    def host(
        self,
        *,
        extensions: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        faults: Mapping[str, str] | None = None,
        database: Mapping[str, Any] | None = None,
    ) -> RemoteHost:
        names = list(extensions) if extensions is not None else [self.extension]
        return self._start(self.worker, names, config, options, faults, database)

    def bare_host(self, *, extensions: Sequence[str] = ()) -> RemoteHost:
        """A host in a separate, clean worker that never imported the extension.

        The reference for "behaves as if the extension were not there": a global
        monkeypatch made by the extension in its own worker cannot reach it.
        """
        if self.extension in extensions:
            raise ValueError("bare_host(): the extension under test cannot be loaded there")
        if self.reference is None:
            raise CheckSkipped("no reference worker is available in this run")
        return self._start(self.reference(), list(extensions), None, None, None, None)

    def _start(
        self,
        worker: WorkerClient,
        names: list[str],
        config: Mapping[str, Any] | None,
        options: Mapping[str, Any] | None,
        faults: Mapping[str, str] | None,
        database: Mapping[str, Any] | None,
    ) -> RemoteHost:
        database = self._new_database(names, database)
        tokens = {role: secrets.token_urlsafe(24) for role in SEED_ROLES}
        users = [
            {"id": uid, "username": f"{role}_user", "roles": list(roles), "token": tokens[role]}
            for role, (uid, roles) in SEED_ROLES.items()
        ]
        before = _storage_dirs(worker)
        try:
            started = worker.call(
                "host.start", extensions=names, database=database, users=users,
                config=dict(config or {}), options=dict(options or {}),
                faults=dict(faults or {}),
            )
        except WorkerOpError as exc:
            self.backends.release(database)
            _raise_import_failure(exc)
            raise HostStartError(f"host did not start: {exc.message}") from None
        base_url = f"http://127.0.0.1:{started['port']}"
        client = loopback_client(base_url, timeout=self.http_timeout_s)
        remote = RemoteHost(
            host_id=str(started["host_id"]), base_url=base_url, tokens=tokens,
            load_errors=dict(started.get("load_errors") or {}), client=client,
            _worker=worker, _release=lambda: self.backends.release(database),
            database=database,
        )
        made = _storage_dirs(worker) - before
        if len(made) == 1:
            remote.storage_root = made.pop()
        self.hosts.append(remote)
        return remote

    def _new_database(self, names: Sequence[str],
                      options: Mapping[str, Any] | None) -> dict[str, Any]:
        reason = self.backends.unavailable().get(self.backend)
        if reason:
            raise CheckSkipped(reason)
        opts = dict(options or {})
        unknown = sorted(set(opts) - {"statement_timeout_s"})
        if unknown:
            raise ValueError(f"database options: unknown {', '.join(unknown)}")
        return self.backends.host_database(
            self.backend, names, pool_sizes={self.extension: self.manifest.quotas.db_connections},
            statement_timeout_s=opts.get("statement_timeout_s"),
        )

    def database(self, host: HostHandle) -> _InspectedView | _ProbedView:
        """The database of ``host`` (started by this context) as a check sees it."""
        spec = getattr(host, "database", None)
        if not isinstance(host, RemoteHost) or host not in self.hosts or not spec:
            raise ValueError("database(): pass a host this check started with ctx.host()")
        return self._view(dict(spec))

    def scratch_database(self, extensions: Sequence[str] | None = None
                         ) -> _InspectedView | _ProbedView:
        """A fresh database with schemas for ``extensions`` and nothing applied."""
        names = list(extensions) if extensions is not None else [self.extension]
        spec = self._new_database(names, None)
        try:
            self._drive("db.open", spec=spec)
        except BaseException:
            self.backends.release(spec)
            raise
        self.scratch.append(spec)
        return self._view(spec)

    def _view(self, spec: dict[str, Any]) -> _InspectedView | _ProbedView:
        if spec.get("backend") == "postgresql":
            return _InspectedView(self.backends.inspector(spec), self._drive)
        return _ProbedView(str(spec["key"]), str(spec.get("backend", "sqlite")),
                           self.probe, self._drive)

    def _drive(self, op: str, **args: Any) -> dict[str, Any]:
        """A worker probe that only *causes* effects; not self-reported by itself."""
        try:
            return self.worker.call("probe", op=op, **args)
        except WorkerOpError as exc:
            _raise_import_failure(exc)
            raise

    def probe(self, op: str, **args: Any) -> dict[str, Any]:
        self.self_reported = True
        try:
            return self.worker.call("probe", op=op, **args)
        except WorkerOpError as exc:
            _raise_import_failure(exc)
            raise

    def reference_probe(self, op: str, **args: Any) -> dict[str, Any]:
        """A probe in the clean reference worker (the harness and companions, never the
        extension): the baseline a check compares the extension's worker with.
        Self-reported, like :meth:`probe`."""
        if self.reference is None:
            raise CheckSkipped("no reference worker is available in this run")
        self.self_reported = True
        return self.reference().call("probe", op=op, **args)

    def dependencies(self) -> list[str]:
        """Extensions given with ``--with``: loaded in the worker beside this one, and
        added to every host that runs it."""
        return list(self.dependency_names)

    def figure(self, key: str, value: Any) -> None:
        self.figures[key] = value

    def worker_output(self, since: int = 0) -> str:
        """The extension's worker's stdout/stderr from byte ``since`` (see ``outside()``'s
        ``output_size``), captured by the parent at the file-descriptor level."""
        return self.worker.output(since)

    def paths_named(self, marker: str) -> list[str]:
        """Files and folders whose name contains ``marker`` anywhere the extension's
        sandbox can write (its folder, private ``/tmp`` and ``/dev/shm``), listed by the
        parent. Not self-reported."""
        return self.worker.paths_named(marker)

    def canaries(self) -> Mapping[str, str]:
        """The fake secrets planted in the extension's worker (environment and HOME):
        label -> value, kept by the parent. Not self-reported."""
        return self.worker.canaries

    def storage_files(self, host: HostHandle) -> dict[str, bytes | None]:
        """The files under a running ``host``'s storage root (every extension's area and
        the core's), relative path -> bytes, read by the parent from the worker's folder
        without following symlinks (``None``: unreadable). Not self-reported."""
        if not isinstance(host, RemoteHost) or host not in self.hosts or host.closed:
            raise ValueError("storage_files(): pass a running host this check started")
        if host.storage_root is None:
            raise CheckFailed("the host's storage folder is not where the worker makes it "
                              "(its TMPDIR): the parent cannot read what was stored",
                              {"expected": f"$TMPDIR/{STORAGE_PREFIX}*"})
        return read_tree(host.storage_root)

    def network_sent(self) -> list[dict[str, Any]]:
        """What the extension sent to its declared targets, recorded by the parent's sinks
        (:meth:`WorkerClient.network_log`): one dict per connection. Not self-reported."""
        return self.worker.network_log()

    def outside(self) -> dict[str, Any]:
        """The extension's worker as the parent sees it through ``/proc``, never asking
        it: its processes (threads, fds, resident memory) and memory figures; the same
        for the reference worker (the harness alone, no extension) when one ran."""
        def view(worker: WorkerClient | None) -> dict[str, Any] | None:
            if worker is None:
                return None
            return {"processes": worker.observe(), "output_size": worker.output_size(),
                    "rss_before_load_mb": round(worker.rss_before_load_mb, 1),
                    "rss_mb": round(worker.rss_mb(), 1),
                    "peak_rss_mb": round(max(worker.peak_rss_mb, worker.rss_mb()), 1)}

        reference = self.reference() if self.reference is not None else None
        return {"worker": view(self.worker), "reference": view(reference)}

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """See :meth:`dufflebag_harness.conformance.CheckContext.once`."""
        if self.shared is None:
            return compute()

        def run() -> tuple[T, bool]:
            was, self.self_reported = self.self_reported, False
            try:
                value = compute()
                return value, self.self_reported
            finally:
                self.self_reported = was or self.self_reported

        value, reported = self.shared.get(f"{key}#{self.attempt}", run)
        self.self_reported = self.self_reported or bool(reported)
        kept: T = value
        return kept

    def test_run(self) -> TestRunResult:
        """The extension's tests, run once per certification in a sandbox of their own
        (:mod:`dufflebag_harness.outside.test_run`); self-reported: the run executes
        extension code in the test process."""
        if self.tests is None:
            raise CheckSkipped("this run has no test runner")
        self.self_reported = True
        return self.tests()

    def companions(self, count: int) -> list[str]:
        if count > len(self.companion_names):
            raise CheckSkipped(
                f"needs {count} companion extensions, {len(self.companion_names)} available"
            )
        return list(self.companion_names[:count])

    def close(self) -> None:
        for remote in self.hosts:
            with contextlib.suppress(Exception):
                remote.close()
        self.hosts.clear()
        for spec in self.scratch:
            with contextlib.suppress(Exception):
                if not self.worker.dead:
                    self.worker.call("probe", op="db.close", database=spec["key"], timeout=60)
            with contextlib.suppress(Exception):
                self.backends.release(spec)
        self.scratch.clear()


Drive = Callable[..., dict[str, Any]]


class _DrivenOps:
    """What every view asks the worker to *do* (judged by reads afterwards)."""

    key: str
    _drive: Drive

    def migrate(self, extension: str, action: str, *, to_version: int = 0) -> dict[str, Any]:
        return self._drive("db.migrate", database=self.key, extension=extension,
                           action=action, to_version=to_version)

    def endless(self, extension: str, *, wait_s: float) -> dict[str, Any]:
        return self._drive("db.endless", database=self.key, extension=extension, wait_s=wait_s,
                           timeout=wait_s + 60)


class _InspectedView(_DrivenOps):
    """PostgreSQL: reads and role attempts from the parent (not self-reported)."""

    backend = "postgresql"

    def __init__(self, inspector: DatabaseInspector, drive: Drive) -> None:
        self._inspector = inspector
        self._drive = drive
        self.key = inspector.key

    def structure(self, schema: str) -> dict[str, Any]:
        return self._inspector.structure(schema)

    def digests(self, schema: str) -> dict[str, str]:
        return self._inspector.digests(schema)

    def rows(self, schema: str, table: str) -> list[dict[str, Any]]:
        return self._inspector.rows(schema, table)

    def insert(self, schema: str, table: str, row: Mapping[str, Any]) -> None:
        self._inspector.insert(schema, table, row)

    def attempt(self, extension: str, statements: Sequence[str]) -> list[dict[str, Any]]:
        return self._inspector.attempt(extension, statements)

    def long_running(self, extension: str, seconds: float) -> list[dict[str, Any]]:
        return self._inspector.long_running(extension, seconds)


class _ProbedView(_DrivenOps):
    """SQLite: every read is a worker probe (self-reported)."""

    def __init__(self, key: str, backend: str, probe: Drive, drive: Drive) -> None:
        self.key = key
        self.backend = backend
        self._probe = probe
        self._drive = drive

    def structure(self, schema: str) -> dict[str, Any]:
        return self._probe("db.structure", database=self.key, schema=schema)

    def digests(self, schema: str) -> dict[str, str]:
        found: dict[str, str] = self._probe("db.digests", database=self.key,
                                            schema=schema)["digests"]
        return found

    def rows(self, schema: str, table: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._probe("db.rows", database=self.key, schema=schema,
                                                  table=table)["rows"]
        return found

    def insert(self, schema: str, table: str, row: Mapping[str, Any]) -> None:
        self._probe("db.insert", database=self.key, schema=schema, table=table, row=dict(row))

    def attempt(self, extension: str, statements: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._probe(
            "db.attempt", database=self.key, extension=extension,
            statements=list(statements))["attempts"]
        return found

    def long_running(self, extension: str, seconds: float) -> list[dict[str, Any]]:
        busy = int(self._probe("db.busy", database=self.key, extension=extension)["checked_out"])
        return [{"checked_out": busy}] if busy else []
