"""``certify``: from an extension path to a signed report and an exit code.

The process running this module holds the signing key, so it never imports
extension code: it reads the manifest statically, hashes the artifact, and
drives a worker subprocess that does the importing. With ``unsigned`` it holds no
key at all and writes an unsigned bundle, which ``dufflebag-cert sign`` signs in
another job (:mod:`dufflebag_harness.reports.bundle`).

An interruption (Ctrl-C, or SIGTERM/SIGHUP under
:func:`~dufflebag_harness.outside.exit_codes.signals_interrupt`) unwinds the run:
workers, the PostgreSQL cluster and every temporary folder are cleaned up on the
way out, and no report is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dufflebag_harness.conformance import (
    Catalog,
    CatalogMismatch,
    Registry,
    load_catalog,
    load_checks,
    parse_pairs,
    verify_against_catalog,
)
from dufflebag_harness.outside.environments import DependencyError, PrepareOptions, prepare
from dufflebag_harness.outside.exit_codes import LEVEL_EXIT, ExitCode, interrupts_held
from dufflebag_harness.outside.loader import (
    ArtifactError,
    Manifest,
    ManifestError,
    artifact_digest,
    load_manifest,
    materialize,
)
from dufflebag_harness.outside.runner.assemble import RunRecord, assemble_report
from dufflebag_harness.outside.runner.backends import Backends, BackendUnavailable
from dufflebag_harness.outside.runner.companions import make_companions
from dufflebag_harness.outside.runner.events import EventBus, Notice, RunFinished, RunStarted
from dufflebag_harness.outside.runner.execute import Executor
from dufflebag_harness.outside.runner.plan import PlannedPair, plan_pairs
from dufflebag_harness.outside.sandbox import detect_sandbox
from dufflebag_harness.outside.system_tools import ensure_tool
from dufflebag_harness.outside.test_run import TestRunner
from dufflebag_harness.outside.worker_client import WorkerClient, WorkerError, WorkerOpError
from dufflebag_harness.sdk import Quotas
from dufflebag_harness.shared.dependencies import unmet


class BadInput(Exception):
    """The user's input or environment is wrong (exit 2); the message says where."""


class InternalError(Exception):
    """The harness itself is broken (exit 4); never certified."""


@dataclass
class CertifyOptions:
    path: Path
    out: Path | None = None
    profile: str = "full"
    only: Sequence[str] | None = None
    pg_dsn: str | None = None
    seed: int | None = None
    shuffle: bool = False
    #: Run extension code in the sandbox. ``None``: when this machine has a working one;
    #: without it the run is at most provisional and signs only with a development key.
    sandbox: bool | None = None
    gnupghome: Path | None = None
    #: Where the extension's declared Python dependencies come from, how their licences and
    #: known vulnerabilities are judged (:class:`~dufflebag_harness.outside.environments.
    #: PrepareOptions`: ``--find-links``, ``--no-index``, ``--licence-policy``, ...).
    python_env: PrepareOptions = field(default_factory=PrepareOptions)
    #: Extensions the one under test depends on (folders, wheels or sdists).
    with_: Sequence[Path] = ()
    #: Hold no key and sign nothing: write an unsigned bundle for ``dufflebag-cert sign``.
    unsigned: bool = False
    #: Checks run at once, each on its own worker (``None``: the machine's cores, at most
    #: :data:`MAX_JOBS`). Timing and load checks always run alone.
    jobs: int | None = None
    #: Seconds after which no further check starts (``None``: the profile's deadline).
    deadline_s: float | None = None
    #: Folder the SARIF file's paths are relative to (``None``: the outputs' default).
    sarif_root: Path | None = None


#: Most lanes a run uses unless told otherwise: each is a worker and its hosts in memory.
MAX_JOBS = 2
#: A certification never runs longer than this before it stops starting checks (seconds):
#: a generous multiple of what a well-behaved extension needs, so that only an extension
#: that hangs (and only where the blocking checks did not already skip the rest) meets it.
DEADLINES_S = {"full": 600.0, "quick": 180.0}


def default_jobs() -> int:
    return max(1, min(MAX_JOBS, os.cpu_count() or 1))


@dataclass
class CertifyOutcome:
    exit_code: ExitCode
    level: str
    report: dict[str, Any]
    out_dir: Path
    files: list[Path] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        """False for an unsigned bundle (``unsigned``)."""
        return self.report.get("signer") is not None


def declared_capabilities(m: Manifest) -> list[str]:
    """Capabilities beyond the defaults that the manifest declares."""
    caps = m.capabilities
    pairs = (("network", caps.network), ("filesystem", caps.filesystem),
             ("subprocess", caps.subprocess))
    return [name for name, declared in pairs if declared]


class _WorkerFactory:
    """Starts workers with the extension (and companions) materialized and loaded."""

    def __init__(self, manifest: Manifest | None, companions: list[Manifest],
                 sandbox: bool, backends: Backends,
                 dependencies: Sequence[Manifest] = ()) -> None:
        self.manifest = manifest
        self.dependencies = list(dependencies)
        self.companions = companions
        self.sandbox = sandbox
        self.backends = backends

    def __call__(self) -> WorkerClient:
        memory_mb = self.manifest.quotas.memory_mb if self.manifest else Quotas().memory_mb
        # the network targets its extensions declare answer in its sandbox with sinks
        network = [pattern for m in [*([self.manifest] if self.manifest else []),
                                     *self.dependencies]
                   for pattern in m.capabilities.network]
        worker: WorkerClient | None = None
        try:
            # a worker interrupted while it starts would leave its processes and folders
            # behind: the interruption waits until it is whole, then it is closed below
            with interrupts_held():
                env = self.manifest.environment if self.manifest else None
                worker = WorkerClient(sandbox=self.sandbox, memory_mb=memory_mb,
                                      ro_binds=(*self.backends.sandbox_binds(),
                                                *([str(env.path)] if env else [])),
                                      network=network, python=env.python if env else None)
            items = []
            target = [self.manifest] if self.manifest is not None else []
            provided = {d.name for d in self.dependencies}
            for m in [*target, *self.dependencies, *self.companions]:
                root = materialize(m.root, worker.ext_dir / m.name)
                items.append({
                    "name": m.name, "root": str(root), "entry": str(m.entry),
                    "quotas": dataclasses.asdict(m.quotas),
                    "capabilities": declared_capabilities(m),
                    "requires": [d for d in m.dependencies if d in provided],
                })
            worker.call("load", extensions=items, timeout=120)
        except BaseException:
            if worker is not None:
                worker.close()
            raise
        return worker


def _quietly(run: Callable[[], object]) -> None:
    """Run ``run`` for its side effect; its caller's later call sees any error again."""
    with contextlib.suppress(Exception):
        run()


def certify(opts: CertifyOptions, bus: EventBus | None = None) -> CertifyOutcome:
    """Certify the extension at ``opts.path``. Raises BadInput / InternalError."""
    bus = bus or EventBus()
    if opts.profile not in ("full", "quick"):
        raise BadInput(f"--profile: {opts.profile!r} is not one of full, quick")
    if not opts.path.exists():
        raise BadInput(f"{opts.path}: no such file or directory")
    if opts.jobs is not None and opts.jobs < 1:
        raise BadInput(f"--jobs: {opts.jobs} is not a positive number of checks at once")
    if opts.deadline_s is not None and opts.deadline_s <= 0:
        raise BadInput(f"--deadline: {opts.deadline_s} is not a positive number of seconds")
    scratch: Path | None = None
    try:
        with interrupts_held():
            scratch = Path(tempfile.mkdtemp(prefix="dbc-"))
        manifest, digest_target = _read_extension(opts.path, scratch)
        dependencies = _read_dependencies(manifest, opts.with_, scratch)
        try:  # its declared Python dependencies, installed for the worker and the tests
            manifest = prepare(manifest, opts.python_env,
                               lambda text: bus.emit(Notice("info", text)), also=dependencies)
        except DependencyError as exc:
            raise BadInput(str(exc)) from None
        registry, catalog = _checked_catalog()
        backends = Backends(pg_dsn=opts.pg_dsn,
                            require_postgres=os.environ.get("DUFFLEBAG_REQUIRE_POSTGRES") == "1")
        try:
            return _run(opts, bus, manifest, digest_target, registry, catalog, backends, scratch,
                        dependencies)
        finally:
            backends.close()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _read_extension(path: Path, scratch: Path) -> tuple[Manifest, Path]:
    """The manifest, and what the artifact digest covers (the file as offered)."""
    try:
        if path.is_file() and path.name != "extension.toml":
            # bytecode a wheel or sdist ships is kept here, where only the static checks
            # read it (SE-03 refuses it); the worker's copy is made without it
            root = materialize(path, scratch / "artifact", keep_bytecode=True)
            return load_manifest(root), path
        manifest = load_manifest(path)
    except (ManifestError, ArtifactError) as exc:
        raise BadInput(str(exc)) from None
    return manifest, manifest.root


def _read_dependencies(manifest: Manifest, paths: Sequence[Path],
                       scratch: Path) -> list[Manifest]:
    """Manifests of ``--with`` extensions, each checked against what ``manifest`` asks
    (by the rule the host applies when it plans its start)."""
    out: list[Manifest] = []
    for i, path in enumerate(paths):
        if not path.exists():
            raise BadInput(f"--with {path}: no such file or directory")
        dep, _ = _read_extension(path, scratch / f"with-{i}")
        if dep.name == manifest.name or dep.name in {d.name for d in out}:
            raise BadInput(f"--with {path}: extension {dep.name!r} is given twice")
        wanted = manifest.dependencies.get(dep.name)
        if wanted is None:
            raise BadInput(f"--with {path}: {manifest.name} does not depend on {dep.name!r} "
                           f"(its [dependencies]: {', '.join(manifest.dependencies) or 'none'})")
        if unmet(wanted, dep.version) is not None:
            raise BadInput(f"--with {path}: {dep.name} {dep.version} does not satisfy "
                           f"{manifest.name}'s dependency {dep.name!r} {wanted!r}")
        out.append(dep)
    return out


def _checked_catalog() -> tuple[Registry, Catalog]:
    registry, catalog = load_checks(), load_catalog()
    try:
        verify_against_catalog(registry, catalog)
    except CatalogMismatch as exc:
        raise InternalError(str(exc)) from None
    return registry, catalog


def _plan(opts: CertifyOptions, registry: Registry, backends: Backends,
          seed: int) -> list[PlannedPair]:
    try:
        # only what the profile runs: a quick run never starts PostgreSQL for nothing
        needed = {b for s in registry if opts.profile in s.profiles for b in s.backends}
        if opts.only:
            needed = {p.split("@")[1] for p in parse_pairs(opts.only, registry.as_dict())}
        try:
            backends.prepare(needed)
        except BackendUnavailable as exc:
            raise BadInput(str(exc)) from None
        return plan_pairs(registry, profile=opts.profile, only=opts.only,
                          unavailable_backends=backends.unavailable(),
                          shuffle_seed=seed if opts.shuffle else None)
    except KeyError as exc:
        raise BadInput(f"--only: {exc.args[0]}") from None


def _signer(opts: CertifyOptions, bus: EventBus) -> Any:
    from dufflebag_harness.reports.signing import Signer, SigningError

    ensure_tool("gpg")  # root on a fresh Debian-like machine: installed now

    try:
        signer = Signer(gnupghome=opts.gnupghome)
        _, is_dev = signer.ensure_key()
    except (SigningError, OSError, ValueError) as exc:
        raise BadInput(f"signing key: {exc}") from None
    if is_dev:
        bus.emit(Notice("warning", "signing with a local development key: the marketplace "
                                   "will not trust this report (see `dufflebag-cert keys init`)"))
    return signer


def _sandbox_choice(opts: CertifyOptions, bus: EventBus, trusted_key: bool) -> bool:
    """Whether extension code runs sandboxed; refuse a run that could leak a real key.

    Without a sandbox, extension code runs as the harness's own user and could read a
    signing key this process can read: only a development key (which the marketplace
    does not trust) may sign such a run, or none (``unsigned``: the level is capped at
    provisional all the same).
    """
    ensure_tool("bwrap")  # root on a fresh Debian-like machine: installed now
    status = detect_sandbox()
    wanted = status.usable if opts.sandbox is None else opts.sandbox
    if wanted and not status.usable:
        raise BadInput(f"no working sandbox: {status.reason} (fix: {status.fix})")
    if not wanted:
        if trusted_key:
            raise BadInput(
                "refusing to run extension code without a sandbox while a marketplace signing "
                "key is configured (extension code could read it); "
                + (f"fix: {status.fix}" if not status.usable else "run with the sandbox"))
        bus.emit(Notice("warning", "extension code runs without a sandbox: the report is "
                                   f"provisional at best ({status.reason or 'turned off'}; "
                                   f"fix: {status.fix or 'leave the sandbox on'})"))
    return wanted


def _run(opts: CertifyOptions, bus: EventBus, manifest: Manifest, digest_target: Path,
         registry: Registry, catalog: Catalog, backends: Backends,
         scratch: Path, dependencies: Sequence[Manifest]) -> CertifyOutcome:
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(2**31)
    plan = _plan(opts, registry, backends, seed)
    signer = None if opts.unsigned else _signer(opts, bus)
    if signer is None:
        bus.emit(Notice("info", "unsigned: no signing key is used; the bundle is signed "
                                "later with `dufflebag-cert sign`"))
    sandbox = _sandbox_choice(opts, bus, signer is not None and not signer.development_key)
    digest = artifact_digest(digest_target)
    companions = [load_manifest(root) for root in make_companions(scratch / "companions")]
    run_id = str(uuid.uuid4())
    started, t0 = dt.datetime.now(dt.UTC), time.monotonic()
    bus.emit(RunStarted(run_id, manifest.name, manifest.version, opts.profile,
                        [p.pair for p in plan]))
    tests = TestRunner(manifest, sandbox=sandbox)
    if any(p.spec.area == "CV" and not p.skip_reason for p in plan):
        # the test run is a sandbox of its own: it starts now, beside the first checks,
        # and the CV checks wait for its result (a failure here is retried by them)
        threading.Thread(target=_quietly, args=(tests.result,), daemon=True,
                         name="dufflebag-test-run").start()
    executor = Executor(manifest=manifest, profile=opts.profile, seed=seed, bus=bus,
                        start_worker=_WorkerFactory(manifest, companions, sandbox, backends,
                                                    dependencies),
                        companions=[c.name for c in companions], backends=backends,
                        start_reference=_WorkerFactory(None, companions, sandbox, backends),
                        dependencies=[d.name for d in dependencies], tests=tests.result,
                        lanes=opts.jobs or default_jobs(),
                        deadline_s=opts.deadline_s or DEADLINES_S[opts.profile])
    try:
        results = executor.run(plan)
    except (WorkerError, WorkerOpError) as exc:
        raise InternalError(f"the worker could not start: {exc}") from None
    finally:
        executor.close()
        tests.close()
    record = RunRecord(
        run_id=run_id, manifest=manifest, digest=digest, catalog=catalog, profile=opts.profile,
        only=opts.only, seed=seed, started=started, finished=dt.datetime.now(dt.UTC),
        duration_s=time.monotonic() - t0, results=results, figures=executor.figures,
        backends_used=sorted({p.backend for p in plan if not p.skip_reason}),
        postgresql=backends.environment(), workers=executor.worker_infos,
        worker_notes=executor.worker_notes,
    )
    if signer is None:  # an unsigned bundle says so: signer null, filled by `sign`
        report = {**assemble_report(record, fingerprint="", development_key=False),
                  "signer": None}
    else:
        report = assemble_report(record, fingerprint=signer.fingerprint,
                                 development_key=signer.development_key)
    out_dir = opts.out or Path("certification") / f"{manifest.name}-{manifest.version}"
    files = _write(report, out_dir, signer, extension_dir=manifest.root if
                   digest_target.is_dir() else None, sarif_root=opts.sarif_root)
    bus.emit(RunFinished(report, report["level"]))
    level = str(report["level"])
    return CertifyOutcome(LEVEL_EXIT[level], level, report, out_dir, files)


def _write(report: dict[str, Any], out_dir: Path, signer: Any, *,
           extension_dir: Path | None = None, sarif_root: Path | None = None) -> list[Path]:
    from dufflebag_harness.reports import ReportInvalid, write_outputs
    from dufflebag_harness.reports.outputs import OutputError
    from dufflebag_harness.reports.signing import SigningError

    try:
        # SARIF locations: the extension's files relative to --sarif-root (or its git top
        # level); an archive's unpacked copy is no place in anyone's repository
        return write_outputs(report, out_dir, signer, extension_dir=extension_dir,
                             sarif_root=sarif_root)
    except ReportInvalid as exc:
        raise InternalError(f"the report failed its own schema: {exc}") from None
    except OutputError as exc:
        raise BadInput(str(exc)) from None
    except SigningError as exc:
        raise BadInput(f"signing failed: {exc}") from None


__all__ = ["BadInput", "CertifyOptions", "CertifyOutcome", "InternalError", "certify"]
