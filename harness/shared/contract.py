"""The worker's interface in one table: every op and every probe, its arguments and its result.

:data:`OPS` are the protocol's operations; :data:`PROBES` are what the ``probe`` op runs
(named by its ``op`` argument). Each :class:`Spec` gives the argument and result types as
``TypedDict`` classes (``NotRequired`` marks an optional key) and says what the entry
measures and why it has to be measured inside the worker.

Both sides hold to it. The worker builds its registry from it (:func:`bind`: an
implementation the table does not declare, or a declared entry nobody implements, stops
the worker at start) and refuses a name or arguments that do not fit (:func:`check_args`)
with an answered error naming the entry and the key. The parent refuses the same before
sending, and checks every result against its declared type (:func:`check_result`): a
worker answering another shape is broken or tampered with, and is killed.

The check is deliberately small: ``str``, ``int``, ``float`` (an ``int`` fits), ``bool``,
``None``, ``list[...]``, ``dict[str, ...]``, unions, ``Literal``, nested ``TypedDict``s
(closed: an undeclared key does not fit) and ``Any``. ``Any`` marks what the extension
itself declared or returned (metadata, configurations) and free-form records (rows, log
and audit entries): passed on as JSON and judged by the checks, not by this module.

No ``from __future__ import annotations`` here: the types are read at run time.

Stdlib only, and imports nothing of ours: both sides import it. To add a probe: declare it
in :data:`PROBES`, implement it in a ``harness/inside/worker/_*_probes.py`` module's
``PROBES`` dict, add its name to the pinned list in ``tests/worker/test_contract.py``.
"""

import functools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import (
    Any,
    Literal,
    NotRequired,
    Required,
    TypedDict,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

__all__ = ["OPS", "PROBES", "ContractError", "Spec", "bind", "check", "check_args",
           "check_result"]

T = TypeVar("T")

#: What the extension declared or returned, passed on as JSON (its checks judge it).
Declared = Any


class ContractError(ValueError):
    """A name or a value that does not fit the contract; ``kind`` is the error kind both
    sides report (``UnknownOp``, ``UnknownProbe``, ``BadArguments``, ``BadResult``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Spec:
    """One entry: ``args`` and ``result`` are types (``TypedDict`` classes, mostly)."""

    args: Any
    result: Any
    doc: str


# -- shared shapes ---------------------------------------------------------------------

class Nothing(TypedDict):
    pass


class ExtensionArgs(TypedDict):
    extension: str


class HostArgs(TypedDict):
    host_id: str


class HostExtensionArgs(TypedDict):
    host_id: str
    extension: str


class DatabaseArgs(TypedDict):
    database: str


class SchemaArgs(TypedDict):
    database: str
    schema: str


class DatabaseExtensionArgs(TypedDict):
    database: str
    extension: str


class Described(TypedDict):
    metadata: Declared
    config_schema: Declared
    default_config: Declared
    migrations: list[dict[str, Declared]]
    permissions: list[Declared]
    roles: list[Declared]


# -- ops -------------------------------------------------------------------------------

class Hello(TypedDict):
    uid: int
    gid: int
    pid: int
    python: str
    harness_version: str
    protocol: int
    isolated: bool


class LoadItem(TypedDict):
    name: str
    root: str
    entry: str
    quotas: NotRequired[dict[str, int | float]]
    capabilities: NotRequired[list[str]]
    requires: NotRequired[list[str]]


class LoadArgs(TypedDict):
    extensions: list[LoadItem]


class Loaded(TypedDict):
    loaded: dict[str, Described]
    errors: dict[str, str]


class SeedUser(TypedDict):
    id: int
    username: str
    roles: list[str]
    token: str


class HostStartArgs(TypedDict):
    extensions: list[str]
    database: dict[str, Any]
    users: list[SeedUser]
    config: NotRequired[dict[str, Any]]
    options: NotRequired[dict[str, Any]]
    faults: NotRequired[dict[str, str]]
    start_timeout_s: NotRequired[float]


class HostStarted(TypedDict):
    host_id: str
    port: int
    load_errors: dict[str, str]


class Stopped(TypedDict):
    stopped: bool


class ProbeCall(TypedDict):
    op: str


OPS: Mapping[str, Spec] = types.MappingProxyType({
    "hello": Spec(Nothing, Hello, """Who the worker is (uid, pid inside its namespace, Python),
        said before any extension code ran: the parent tells the worker from what it spawns
        by this pid, and refuses another protocol version."""),
    "load": Spec(LoadArgs, Loaded, """Import each extension's entry class (the only place
        extension code is imported) and describe it; an import failure is data."""),
    "host.start": Spec(HostStartArgs, HostStarted, """Start a fresh reference host with the
        given extensions, database logins, seeded users, configuration and injected faults,
        serving on one of the sockets the parent handed in."""),
    "host.stop": Spec(HostArgs, Stopped, "Stop a host started with ``host.start``."),
    "probe": Spec(ProbeCall, dict[str, Any], """Run the probe named by ``op`` (the other
        arguments are the probe's, checked against :data:`PROBES`; so is its result)."""),
    "shutdown": Spec(Nothing, Nothing, "Answer, then exit 0."),
})


# -- probes: the extension's class and lifecycle ----------------------------------------------

class LifecycleArgs(TypedDict):
    extension: str
    timeout_s: NotRequired[float]


class Restart(TypedDict):
    ok: bool
    health: NotRequired[Declared]
    error: NotRequired[str]


class Lifecycle(TypedDict):
    timings: dict[str, float]
    errors: dict[str, str]
    load_error: NotRequired[str | None]
    health: NotRequired[Declared]
    stop_again: NotRequired[str]
    restart: NotRequired[Restart]
    error: NotRequired[str]


class LeaksArgs(TypedDict):
    extension: str
    settle_s: NotRequired[float]
    timeout_s: NotRequired[float]


class Left(TypedDict):
    threads: list[str]
    tasks: list[str]
    fds: list[str]
    sqlite_connections: int
    pool_checked_out: int


class Requested(TypedDict):
    path: str
    status: int


class Leaks(TypedDict):
    load_error: str | None
    requests: list[Requested]
    host_own: Left
    leaked: Left
    settle_s: float


# -- probes: auth ----------------------------------------------------------------------------

class AuthUsersArgs(TypedDict):
    host_id: str
    extension: NotRequired[str]
    attempt_writes: NotRequired[bool]


class UserView(TypedDict):
    id: int
    username: str
    roles: list[str]


class AuthServiceView(TypedDict):
    type: str
    extra_methods: list[str]
    writes: NotRequired[dict[str, str]]
    user_object: NotRequired[str]


class AuthUsers(TypedDict):
    users: list[UserView]
    services: dict[str, AuthServiceView]
    users_after_writes: NotRequired[list[UserView]]


class AuditArgs(TypedDict):
    host_id: str
    since: NotRequired[int]
    limit: NotRequired[int]


class Audit(TypedDict):
    count: int
    entries: list[dict[str, Any]]


# -- probes: configuration -------------------------------------------------------------------

class ReloadArgs(TypedDict):
    extension: str
    base: NotRequired[Declared]
    configs: list[Declared]
    timeout_s: NotRequired[float]


class CompareArgs(TypedDict):
    extension: str
    base: NotRequired[Declared]
    target: NotRequired[Declared]
    timeout_s: NotRequired[float]


class AttributeChange(TypedDict):
    attribute: str
    before: Declared
    after: Declared


class Reload(TypedDict):
    outcome: Literal["applied", "refused", "error"]
    config: NotRequired[Declared]
    path: NotRequired[Declared]
    reason: NotRequired[str]
    changed: NotRequired[list[AttributeChange]]
    config_kept: NotRequired[bool]
    restored: NotRequired[bool]


class Reloads(TypedDict):
    load_error: NotRequired[str]
    results: NotRequired[list[Reload]]


class Mismatch(TypedDict):
    attribute: str
    reloaded: Declared
    fresh: Declared


class Compared(TypedDict):
    load_error: NotRequired[dict[str, str | None]]
    reload: Reload
    dependent: NotRequired[list[str]]
    mismatch: NotRequired[list[Mismatch]]


class ConfigView(TypedDict):
    section: dict[str, Declared]
    applied: dict[str, Declared]


# -- probes: databases -----------------------------------------------------------------------

class OpenArgs(TypedDict):
    spec: dict[str, Any]


class Opened(TypedDict):
    database: str
    backend: str


class Closed(TypedDict):
    closed: bool


class Structure(TypedDict):
    tables: dict[str, dict[str, str]]
    objects: dict[str, str]


class Digests(TypedDict):
    digests: dict[str, str]


class RowsArgs(TypedDict):
    database: str
    schema: str
    table: str


class Rows(TypedDict):
    rows: list[dict[str, Any]]


class InsertArgs(TypedDict):
    database: str
    schema: str
    table: str
    row: dict[str, Any]


class Inserted(TypedDict):
    inserted: int


class AttemptArgs(TypedDict):
    database: str
    extension: str
    statements: list[str]


class Attempt(TypedDict):
    sql: str
    ok: bool
    denied: bool
    error_type: str | None
    message: str


class Attempts(TypedDict):
    attempts: list[Attempt]


class MigrateArgs(TypedDict):
    database: str
    extension: str
    action: Literal["up", "down", "up_failing", "up_edited"]
    to_version: NotRequired[int]


class MigrationFailure(TypedDict):
    type: str
    version: Declared
    message: str


class Migrated(TypedDict):
    action: str
    ok: bool
    applied: list[Declared]
    error: MigrationFailure | None
    declared: list[Declared]
    descriptions: list[dict[str, Declared]]
    injected: NotRequired[Declared]
    edited: NotRequired[Declared]
    skipped: NotRequired[str]
    duration_s: NotRequired[float]


class EndlessArgs(TypedDict):
    database: str
    extension: str
    wait_s: NotRequired[float]


class Endless(TypedDict):
    query: str
    error_type: str | None
    message: str
    elapsed_s: float
    after: str


class Busy(TypedDict):
    checked_out: int


class MigrationText(TypedDict):
    version: Declared
    up: str
    down: str


class MigrationTexts(TypedDict):
    here: list[MigrationText]
    fresh: list[MigrationText] | None
    error: str | None


# -- probes: hooks, monitor, logs, memory, quotas, storage ----------------------------------

class TraceArgs(TypedDict):
    extension: str
    others: NotRequired[list[str]]
    timeout_s: NotRequired[float]


class TracedRequest(TypedDict):
    method: str
    path: str
    template: str
    status: int
    headers: dict[str, str]
    events: list[dict[str, Any]]


class Registrations(TypedDict):
    middleware: list[dict[str, Declared]]
    hooks: list[dict[str, Declared]]


class Trace(TypedDict):
    load_error: NotRequired[str]
    declared: NotRequired[Registrations]
    requests: NotRequired[list[TracedRequest]]


class Window(TypedDict):
    installed: bool
    window: int


class MonitorReport(TypedDict):
    installed: bool
    extension: NotRequired[str]
    window: NotRequired[int]
    root: NotRequired[str]
    attributed_roots: NotRequired[list[str]]
    load: NotRequired[list[dict[str, Any]]]
    window_events: NotRequired[list[dict[str, Any]]]
    dropped: NotRequired[int]
    unattributed: NotRequired[list[dict[str, Any]]]
    hook_errors: NotRequired[int]


class Capturing(TypedDict):
    capturing: bool
    loggers: list[str]


class CollectArgs(TypedDict):
    extension: str
    needles: NotRequired[list[str]]


class Found(TypedDict):
    needle_index: int
    source: str


class Collected(TypedDict):
    capturing: bool
    records: list[str]
    printed: str
    found: list[Found]
    record_count: NotRequired[int]
    truncated: NotRequired[bool]


class MemoryArgs(TypedDict):
    collect: NotRequired[bool]


class Memory(TypedDict):
    pid: int
    gc_collected: int
    rss_kb: int | None
    peak_kb: int
    allocated_blocks: int
    threads: int


class QuotaSetArgs(TypedDict):
    host_id: str
    extension: str
    requests_per_second: NotRequired[int]
    concurrent_requests: NotRequired[int]


class Quotas(TypedDict):
    quotas: dict[str, int | float]


class SlowArgs(TypedDict):
    host_id: str
    extension: str
    hold_s: NotRequired[float]


class Slowed(TypedDict):
    routes: int
    hold_s: float


class Call(TypedDict):
    start_s: float
    duration_s: float
    outcome: Literal["completed", "cancelled", "error"]


class Calls(TypedDict):
    slowed: bool
    calls: list[Call]
    max_active: int
    active: int


class Planted(TypedDict):
    token: str
    markers: list[str]
    payloads: list[str]
    root: str


class AttackArgs(TypedDict):
    host_id: str
    extension: str
    token: str


class Attacked(TypedDict):
    object: str
    op: Literal["read", "write"]
    payload: str
    outcome: Literal["allowed", "refused", "escaped"]
    detail: str


class Attacks(TypedDict):
    objects: list[str]
    results: list[Attacked]


class FingerprintArgs(TypedDict):
    #: The extension whose own modules are left out (the extension's worker).
    extension: NotRequired[str]
    #: Modules to fingerprint, imported first when absent (the reference worker); all
    #: loaded modules when not given.
    modules: NotRequired[list[str]]
    #: Modules to describe attribute by attribute (else only their digests).
    detail: NotRequired[list[str]]
    #: Per module: attributes to look up first when the module has them only lazily (its
    #: own ``__getattr__``), as the extension's worker did by using them.
    resolve: NotRequired[dict[str, list[str]]]


class ModulePrint(TypedDict):
    #: The module object's type, name and file, as a line.
    header: str
    #: sha256 over its attributes' fingerprints.
    digest: str


class Fingerprints(TypedDict):
    modules: dict[str, ModulePrint]
    #: Modules not fingerprinted, and why (could not be imported, ...).
    skipped: dict[str, str]
    #: Per module in ``detail``: attribute (``name`` or ``Class.member``) -> fingerprint.
    detail: dict[str, dict[str, str]]
    #: The extension's own modules left out.
    owned: list[str]
    #: The folder the extension's package was imported from (``None``: none given).
    root: str | None


PROBES: Mapping[str, Spec] = types.MappingProxyType({
    # the extension's class and its lifecycle
    "describe": Spec(ExtensionArgs, Described, """What the loaded class says about itself
        (metadata, config schema and defaults, migrations, permissions, roles) without an
        instance: only the worker has imported the class."""),
    "lifecycle": Spec(LifecycleArgs, Lifecycle, """Time each lifecycle call of the extension
        (initialize, start, health, stop), stop twice, restart: the calls are made on the
        instance, which lives in the worker."""),
    "lifecycle.leaks": Spec(LeaksArgs, Leaks, """Threads, asyncio tasks, fds and database
        connections left after ``stop`` beyond what a bare host leaves: they exist only in
        the worker's process."""),
    # auth
    "auth.users": Spec(AuthUsersArgs, AuthUsers, """A running host's users, and the auth
        services the extension was handed and holds (with ``attempt_writes``: whether they
        refuse writes): the user store and the service objects live in the worker."""),
    "auth.audit": Spec(AuditArgs, Audit, """A running host's audit entries from ``since``:
        the audit log is the host's memory."""),
    # configuration
    "config.reload": Spec(ReloadArgs, Reloads, """Reload each configuration on a probe host;
        for refused ones, what of the instance's state changed anyway: the instance's
        attributes are visible only in the worker."""),
    "config.compare": Spec(CompareArgs, Compared, """A hot reload ``base`` → ``target``
        against a fresh start with ``target``, attribute by attribute of the instance."""),
    "config.view": Spec(HostExtensionArgs, ConfigView, """The configuration section the
        extension's config service shows it, and what the host applied: both are objects in
        the worker."""),
    # databases: SQLite reads (the database is the worker's memory) and driving migrations
    "db.open": Spec(OpenArgs, Opened, """Open a scratch database the parent provisioned
        (or a private SQLite one), kept until ``db.close``."""),
    "db.close": Spec(DatabaseArgs, Closed, "Close a scratch database opened by ``db.open``."),
    "db.structure": Spec(SchemaArgs, Structure, """Tables and their columns, indexes, views
        and triggers of a schema (SQLite only: in-memory in the worker)."""),
    "db.digests": Spec(SchemaArgs, Digests, """Row count and digest of each table of a
        schema (SQLite only)."""),
    "db.rows": Spec(RowsArgs, Rows, "The rows of one table (SQLite only; at most 1000)."),
    "db.insert": Spec(InsertArgs, Inserted, """Insert one row as the host (canaries); on
        SQLite only the worker can write to the database."""),
    "db.attempt": Spec(AttemptArgs, Attempts, """Run statements through the extension's own
        database service and report each answer (SQLite: the service is in the worker)."""),
    "db.migrate": Spec(MigrateArgs, Migrated, """Apply, revert, break or edit the
        extension's migrations through its database service; the parent judges the
        effect (from outside on PostgreSQL)."""),
    "db.endless": Spec(EndlessArgs, Endless, """Send a query that never ends through the
        extension's service: is it cancelled, and does the service work afterwards?"""),
    "db.busy": Spec(DatabaseExtensionArgs, Busy, """How many of the extension's pooled
        connections are checked out (the pool is in the worker)."""),
    "db.migration_texts": Spec(ExtensionArgs, MigrationTexts, """Checksums of the
        migrations as loaded and after a fresh import of the package: only the worker
        imports extension code."""),
    # hooks, capability monitor, logs, memory
    "hooks.trace": Spec(TraceArgs, Trace, """Which of the extension's middleware, hooks and
        handlers ran for a fixed set of requests, in what order, changing what: they are
        wrapped with recorders inside the host."""),
    "monitor.begin": Spec(Nothing, Window, """Open a fresh window of the capability monitor
        (audit hooks installed in the worker before any extension import)."""),
    "monitor.report": Spec(ExtensionArgs, MonitorReport, """What the extension used
        (network, files, subprocesses, ...) at import and in the window, as the worker's
        audit hooks saw it."""),
    "logs.begin": Spec(ExtensionArgs, Capturing, """Capture the extension's log records and
        prints until ``logs.collect``: both happen in the worker's process."""),
    "logs.collect": Spec(CollectArgs, Collected, """Stop capturing; the captured text and
        which of the parent's ``needles`` occur in it."""),
    "perf.memory": Spec(MemoryArgs, Memory, """Collect garbage, then the worker's pid and its
        own memory figures (the parent reads the resident set itself by that pid)."""),
    # quotas
    "quota.set": Spec(QuotaSetArgs, Quotas, """Set an extension's requests/s or concurrency
        quota in a running host: quotas are the host's state."""),
    "quota.slow": Spec(SlowArgs, Slowed, """Make each of the extension's handlers wait
        ``hold_s`` first and record each call, so the host's limits meet slow handlers."""),
    "quota.calls": Spec(HostExtensionArgs, Calls, """The slowed calls (start, duration,
        outcome) and the most that ran at once: seen only where the handlers run."""),
    # storage
    "storage.plant": Spec(HostExtensionArgs, Planted, """Plant sentinels outside the
        extension's storage root (a neighbour's area, a folder outside, symlinks) and
        return hostile paths aimed at them: the worker's filesystem."""),
    "storage.attack": Spec(AttackArgs, Attacks, """Feed those paths to every storage object
        the extension holds; report what was read or written outside, then clean up."""),
    # global state
    "globals.fingerprint": Spec(FingerprintArgs, Fingerprints, """Fingerprint every loaded
        module the extension does not own (each attribute's kind, qualified name, module and
        code digest; classes defined there member by member): the module objects live only
        in the worker's process, so they can only be read there. In the clean reference
        worker the same probe (after importing the modules named) is the baseline."""),
})


# -- checking ----------------------------------------------------------------------------------

def _name(tp: Any) -> str:
    if tp is type(None) or tp is None:
        return "None"
    if isinstance(tp, type) and get_origin(tp) is None:
        return tp.__name__
    return str(tp).replace("typing.", "")


def _got(value: object) -> str:
    return "None" if value is None else type(value).__name__


@functools.cache
def _fields(tp: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """A TypedDict's key → type, and its required keys (``NotRequired`` read from the
    hints themselves: with postponed annotations Python 3.11 counts such keys required)."""
    fields: dict[str, Any] = {}
    required = set()
    for key, hint in get_type_hints(tp, include_extras=True).items():
        origin = get_origin(hint)
        fields[key] = get_args(hint)[0] if origin in (NotRequired, Required) else hint
        if origin is Required or (origin is not NotRequired and key in tp.__required_keys__):
            required.add(key)
    return fields, frozenset(required)


def check(value: object, tp: Any, where: str = "value") -> None:
    """Raise :class:`ContractError` (kind ``BadArguments``) naming the first place in
    ``value`` (JSON data) that does not fit ``tp``; ``where`` names ``value`` itself."""
    if tp is Any:
        return
    origin = get_origin(tp)
    if tp is None or tp is type(None):
        ok = value is None
    elif tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    elif origin is Literal:
        ok = any(type(value) is type(v) and value == v for v in get_args(tp))
    elif origin in (Union, types.UnionType):
        fits = [a for a in get_args(tp) if (a is type(None)) == (value is None)]
        if len(fits) == 1:  # the one that could fit says where it does not
            check(value, fits[0], where)
            return
        ok = False
        for alternative in fits:
            try:
                check(value, alternative, where)
            except ContractError:
                continue
            ok = True
            break
    elif origin is list:
        if not isinstance(value, list):
            ok = False
        else:
            (item,) = get_args(tp)
            for i, v in enumerate(value):
                check(v, item, f"{where}[{i}]")
            return
    elif origin is dict:
        if not isinstance(value, dict):
            ok = False
        else:
            _key, item = get_args(tp)
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ContractError("BadArguments", f"{where}: key {k!r} is not a string")
                check(v, item, f"{where}[{k!r}]")
            return
    elif is_typeddict(tp):
        if not isinstance(value, dict):
            ok = False
        else:
            hints, required = _fields(tp)
            missing = sorted(required - value.keys())
            if missing:
                raise ContractError("BadArguments", f"{where}: missing key {missing[0]!r}")
            unknown = sorted(str(k) for k in value.keys() - hints.keys())
            if unknown:
                raise ContractError("BadArguments", f"{where}: unknown key {unknown[0]!r}")
            for key, v in value.items():
                check(v, hints[key], f"{where}.{key}")
            return
    else:
        raise TypeError(f"the contract cannot check {tp!r}")
    if not ok:
        raise ContractError("BadArguments", f"{where}: expected {_name(tp)}, got {_got(value)}")


def _entry(op: str, args: Mapping[str, Any]) -> tuple[str, Spec, dict[str, Any]]:
    """The label, entry and own arguments of a call (a probe's: without ``op``)."""
    spec = OPS.get(op)
    if spec is None:
        raise ContractError("UnknownOp", f"unknown op {op!r}: not in the worker contract")
    if op != "probe":
        return f"op {op!r}", spec, dict(args)
    name = args.get("op")
    if not isinstance(name, str):
        raise ContractError("BadArguments", "op 'probe': args.op: the probe's name is missing")
    probe = PROBES.get(name)
    if probe is None:
        raise ContractError("UnknownProbe", f"no probe {name!r} in the worker contract")
    return f"probe {name!r}", probe, {k: v for k, v in args.items() if k != "op"}


def check_args(op: str, args: Mapping[str, Any]) -> None:
    """Refuse (:class:`ContractError`) an op or probe the contract does not declare, or
    arguments that do not fit its declared type; the message names it and the key."""
    label, spec, own = _entry(op, args)
    try:
        check(own, spec.args, "args")
    except ContractError as exc:
        raise ContractError("BadArguments", f"{label}: {exc.message}") from None


def check_result(op: str, args: Mapping[str, Any], result: object) -> None:
    """Refuse (:class:`ContractError`, kind ``BadResult``) a result that does not fit the
    type declared for the call ``op(**args)``."""
    label, spec, _ = _entry(op, args)
    try:
        check(result, spec.result, "result")
    except ContractError as exc:
        raise ContractError("BadResult", f"{label}: {exc.message}") from None


def bind(table: Mapping[str, Spec], found: Mapping[str, T], what: str) -> dict[str, T]:
    """``found`` (name → implementation) in the order of ``table``, refusing an
    implementation the table does not declare and a declared entry without one."""
    undeclared = sorted(set(found) - set(table))
    missing = sorted(set(table) - set(found))
    if undeclared or missing:
        parts = []
        if undeclared:
            parts.append(f"implemented but not declared: {', '.join(undeclared)}")
        if missing:
            parts.append(f"declared but not implemented: {', '.join(missing)}")
        raise ContractError("ContractMismatch",
                            f"the worker's {what} differ from the contract "
                            f"(dufflebag_harness.shared.contract): {'; '.join(parts)}")
    return {name: found[name] for name in table}
