"""Types every check uses: severity, status, the check spec, failures, results.

Frozen at version 0 (see ARCHITECTURE.md); later versions only add fields.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import httpx

    from dufflebag_harness.outside.loader import Manifest

BACKENDS = ("mock", "sqlite", "postgresql")

T = TypeVar("T")


class Severity(enum.StrEnum):
    """Required checks decide the level; advisory ones are only listed."""

    REQUIRED = "required"
    ADVISORY = "advisory"


REQUIRED = Severity.REQUIRED
ADVISORY = Severity.ADVISORY


class Status(enum.StrEnum):
    """Outcome of one (check, backend) pair. Only ``pass`` counts as passed."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    FLAKY = "flaky"


class CheckFailed(AssertionError):
    """Raised by a check when the extension violates it; carries evidence."""

    def __init__(self, reason: str, evidence: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = dict(evidence or {})


class CheckSkipped(Exception):
    """Raised when a check cannot run here (e.g. no PostgreSQL); never a pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HostHandle(Protocol):
    """A fresh reference host, running in the worker, reached over loopback.

    ``tokens`` maps a role name (``admin``, ``manager``, ``user``, ``deleted``,
    ``outsider`` — a user with no role) to a bearer token of a seeded user.
    ``host_id`` names the host to worker probes that act on it.
    """

    host_id: str
    base_url: str
    tokens: Mapping[str, str]
    load_errors: Mapping[str, str]

    def request(
        self, method: str, path: str, *, as_role: str | None = None, **kwargs: Any
    ) -> httpx.Response: ...
    def close(self) -> None: ...


class DatabaseView(Protocol):
    """One database — a host's, or a scratch one — as a check sees it (interface 1, v0 addition).

    Schemas are named as on the host: ``core`` (the host's tables) and
    ``ext_{name}``. On PostgreSQL every read comes from the parent's own
    admin connection and :meth:`attempt` runs in the parent as the
    extension's own role: nothing the worker says decides, so the result is
    not self-reported. On SQLite (in-memory, inside the worker) reads are
    worker probes and mark the result ``self_reported``. :meth:`migrate` and
    :meth:`endless` *drive* the worker; judge their effects with the reads.

    ``structure`` → ``{"tables": {table: {column: description}},
    "objects": {"index name": definition, ...}}``; ``digests`` →
    ``{table: "rows:<n> <digest>"}``; both compare equal exactly when nothing changed.
    """

    backend: str
    key: str

    def structure(self, schema: str) -> dict[str, Any]: ...
    def digests(self, schema: str) -> dict[str, str]: ...
    def rows(self, schema: str, table: str) -> list[dict[str, Any]]: ...
    def insert(self, schema: str, table: str, row: Mapping[str, Any]) -> None: ...
    def attempt(self, extension: str, statements: Sequence[str]) -> list[dict[str, Any]]:
        """Each statement as ``extension``: ``{sql, ok, denied, message}`` (writes rolled back
        on PostgreSQL; use statements that change nothing even if allowed)."""
        ...
    def long_running(self, extension: str, seconds: float) -> list[dict[str, Any]]:
        """The extension's statements still running after ``seconds`` (PostgreSQL), or its
        pooled connections still checked out (SQLite, where ``seconds`` is not known)."""
        ...
    def migrate(self, extension: str, action: str, *, to_version: int = 0) -> dict[str, Any]:
        """``up``, ``down`` (to ``to_version``), ``up_failing`` (the extension's migrations
        plus one that fails at its third statement) or ``up_edited`` (newest one's text
        changed), run by the worker through the extension's own database."""
        ...
    def endless(self, extension: str, *, wait_s: float) -> dict[str, Any]:
        """A query that never ends, sent through the extension's own database service:
        ``{error_type, message, elapsed_s, after}`` (``after`` is ``"ok"`` when the
        service still answers)."""
        ...


class TestRun(Protocol):
    """The extension's own tests as the harness ran them, once per certification, in a
    sandbox of their own (see :meth:`CheckContext.test_run`). Files are the parent's
    copies: ``data_files`` (coverage.py data), ``junit`` (pytest's JUnit XML);
    ``ran_at`` is the extension root the run saw (coverage data names files there);
    ``sandbox`` is the run's sandbox record, ``None`` on a machine without one."""

    @property
    def exit_code(self) -> int | None: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def output_tail(self) -> str: ...
    @property
    def command(self) -> list[str]: ...
    @property
    def ran_at(self) -> Path: ...
    @property
    def data_files(self) -> list[Path]: ...
    @property
    def junit(self) -> Path | None: ...
    @property
    def sandbox(self) -> dict[str, Any] | None: ...
    @property
    def error(self) -> str: ...


class CheckContext(Protocol):
    """What the runner gives a check. Checks run in the parent process.

    ``host()`` starts a fresh host in the worker (closed when the check ends);
    ``faults`` maps extension names to a fault the worker injects
    (``handler_exception`` or ``initialize_exception``); ``database`` sets
    options of the host's fresh database (``statement_timeout_s``).
    ``probe()`` runs an in-process probe in the worker; using it marks the result
    ``self_reported``. ``figure()`` records a measured figure for the report.
    ``database(host)`` is the :class:`DatabaseView` of a running host's
    database; ``scratch_database(extensions)`` is a fresh, empty database on
    the pair's backend with schemas for ``extensions`` (default: the extension
    under test), no host and no extension code running — migrations are
    applied to it only through :meth:`DatabaseView.migrate`. Both end with the check.
    """

    check_id: str
    backend: str
    profile: str
    seed: int
    extension: str
    manifest: Manifest

    def host(
        self,
        *,
        extensions: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        faults: Mapping[str, str] | None = None,
        database: Mapping[str, Any] | None = None,
    ) -> HostHandle: ...
    def bare_host(self, *, extensions: Sequence[str] = ()) -> HostHandle: ...
    def probe(self, op: str, **args: Any) -> dict[str, Any]: ...
    def reference_probe(self, op: str, **args: Any) -> dict[str, Any]:
        """A probe in the clean reference worker (the one :meth:`bare_host` uses: the
        harness and companions, never the extension): a baseline in a process the
        extension's code never ran in. Self-reported, like :meth:`probe`."""
        ...
    def figure(self, key: str, value: Any) -> None: ...
    def companions(self, count: int) -> list[str]: ...
    def dependencies(self) -> list[str]: ...
    def database(self, host: HostHandle) -> DatabaseView: ...
    def outside(self) -> dict[str, Any]:
        """The worker seen from outside its sandbox (``/proc``), never by asking it:
        ``{"worker": {processes: [{pid, ppid, name, role, threads, fds, rss_mb}],
        output_size, rss_before_load_mb, rss_mb, peak_rss_mb}, "reference": same | None}``
        — the
        reference being the clean worker (companions only); ``output_size`` is how
        many bytes of stdout/stderr the parent has captured. Not self-reported."""
        ...
    def worker_output(self, since: int = 0) -> str:
        """What the worker wrote to stdout/stderr from byte ``since`` on, captured by the
        parent at the file-descriptor level (no in-process redirect can hide it)."""
        ...
    def scratch_database(self, extensions: Sequence[str] | None = None) -> DatabaseView: ...
    def paths_named(self, marker: str) -> list[str]:
        """Files and folders whose name contains ``marker`` wherever the extension's
        sandbox can write, as the sandbox sees them; listed by the parent."""
        ...
    def canaries(self) -> Mapping[str, str]:
        """Fake secrets planted in the extension's worker, fresh for each worker: label
        (``environment variable GITHUB_TOKEN``, ``file ~/.ssh/id_ed25519``) -> value. The
        values sit in its environment and in credential files of its HOME; the parent
        keeps them, so a check can search what left the sandbox. Never put a value in a
        reason or evidence. Not self-reported."""
        ...
    def storage_files(self, host: HostHandle) -> dict[str, bytes | None]:
        """Every regular file under a running ``host``'s storage root (each extension's
        area, the core's), path relative to that root -> bytes, read by the parent from the
        worker's folder without following symlinks; ``None``: could not be read. Not
        self-reported."""
        ...
    def network_sent(self) -> list[dict[str, Any]]:
        """What the extension sent to its declared targets, recorded by the parent's
        sinks: every declared ``host:port`` answers inside the sandbox with a sink of the
        parent's (HTTP ``200 {}``, TLS with a certificate of a CA trusted only in that
        sandbox). One dict per connection since the worker started, oldest first:
        ``target``, ``at``, ``tls``, ``sni``, ``received`` (bytes, decrypted for TLS, at
        most 1 MiB per target), ``received_bytes``, ``truncated``, ``requests``
        (``method``, ``path``, ``status``), ``error``. Empty when nothing is declared.
        Not self-reported."""
        ...
    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` run once per certification (and per attempt of a re-run) by the
        first check that asks for ``key``; every other check gets the same value. For
        measurements two checks judge differently (one load run, two verdicts). A check
        that reads a value computed with probes is self-reported too."""
        ...
    def test_run(self) -> TestRun:
        """The extension's tests (``[tests]`` of its manifest) run under the harness's
        coverage invocation, in their own sandbox apart from the hosts' worker. The run
        happens on first use and every check of the certification gets the same result.
        It executes extension code, so using it marks the result self-reported."""
        ...


CheckFunc = Callable[[CheckContext], None]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check. ``id`` is stable (``AREA-NN``); reports cite it."""

    id: str
    title: str
    requires: tuple[str, ...]
    severity: Severity
    backends: tuple[str, ...]
    func: CheckFunc
    fix: str = ""
    blocked_by: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ("full", "quick")
    #: Runs with no other check beside it: its verdict rests on wall-clock timing or on
    #: load, which a neighbour on the same cores would change.
    exclusive: bool = False
    #: Checks that must have finished before this one starts, whatever their verdict
    #: (unlike ``blocked_by``, a failure there does not skip this one).
    after: tuple[str, ...] = ()
    #: A failed required check is run once more to tell a verdict that varies between
    #: identical runs (``flaky``) from a real failure. False where a failure is a fact
    #: that was seen and cannot be "unseen" by a second run that missed it (a leak seen
    #: once is a leak).
    rerun_on_fail: bool = True
    #: Runs in a worker process no other check ran in: its verdict compares the process
    #: before and after, and what earlier checks left there (a thread an extension
    #: starts once per process) would otherwise be counted as "before".
    fresh_worker: bool = False

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    def pairs(self) -> list[str]:
        return [f"{self.id}@{b}" for b in self.backends]


@dataclass
class CheckResult:
    """Outcome of one (check, backend) pair, as it goes into the report."""

    check: str
    backend: str
    status: Status
    severity: Severity
    title: str = ""
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    self_reported: bool = False
    attempts: int = 1

    @property
    def pair(self) -> str:
        return f"{self.check}@{self.backend}"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "backend": self.backend,
            "status": self.status.value,
            "severity": self.severity.value,
            "title": self.title,
            "reason": self.reason,
            "evidence": self.evidence,
            "duration_s": round(self.duration_s, 4),
            "self_reported": self.self_reported,
            "attempts": self.attempts,
        }


def parse_pairs(items: Sequence[str], specs: Mapping[str, CheckSpec]) -> set[str]:
    """Expand ``["RT-02", "IS-01@postgresql"]``: a bare ID means all its backends.

    IDs and backends are matched whatever their case (``lc-01`` is ``LC-01``); the pairs
    returned are spelled as the catalog spells them. A ``KeyError`` names the unknown
    item, suggests the closest IDs and lists the areas, so a typo is fixed in one go.
    """
    by_lower = {check_id.lower(): check_id for check_id in specs}
    out: set[str] = set()
    for item in items:
        given, _, backend = item.strip().partition("@")
        check_id = by_lower.get(given.strip().lower())
        if check_id is None:
            raise KeyError(_unknown_check(given.strip(), specs))
        spec = specs[check_id]
        if backend:
            known = {b.lower(): b for b in spec.backends}
            if backend.strip().lower() not in known:
                raise KeyError(f"check {check_id} does not run on backend {backend!r} "
                               f"(it runs on {', '.join(spec.backends)})")
            out.add(f"{check_id}@{known[backend.strip().lower()]}")
        else:
            out.update(spec.pairs())
    return out


def _unknown_check(given: str, specs: Mapping[str, CheckSpec]) -> str:
    """``unknown check 'LC-1' (did you mean LC-01, LC-02?; areas: ...)``."""
    import difflib

    from dufflebag_harness.conformance._docs import AREA_NAMES

    close = difflib.get_close_matches(given.upper(), sorted(specs), n=3, cutoff=0.6)
    areas = sorted({spec.area for spec in specs.values()})
    listed = ", ".join(f"{a} {AREA_NAMES[a]}" if a in AREA_NAMES else a for a in areas)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return (f"unknown check {given!r} ({hint}areas: {listed}; "
            "`dufflebag-cert checks` lists every ID)")
