"""``certify``: from an extension path to a signed report and an exit code.

The process running this module holds the signing key, so it never imports
extension code: it reads the manifest statically, hashes the artifact, and
drives a worker subprocess that does the importing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import (
    CatalogMismatch,
    CheckResult,
    load_catalog,
    load_checks,
    verify_against_catalog,
)
from harness import HOST_API_VERSION, __version__
from harness.loader import (
    ArtifactError,
    Manifest,
    ManifestError,
    artifact_digest,
    load_manifest,
    materialize,
)
from harness.runner.companions import make_companions
from harness.runner.environment import environment_facts, harness_digest
from harness.runner.events import EventBus, Notice, RunFinished, RunStarted
from harness.runner.execute import Executor
from harness.runner.plan import plan_pairs
from harness.worker.client import WorkerClient, WorkerError, WorkerOpError

EXIT_CERTIFIED, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_PROVISIONAL, EXIT_INTERNAL = 0, 1, 2, 3, 4
LEVEL_EXIT = {"certified": EXIT_CERTIFIED, "failed": EXIT_FAILED, "provisional": EXIT_PROVISIONAL}
VALIDITY_DAYS = 365


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
    separate_uid: bool = True
    gnupghome: Path | None = None


@dataclass
class CertifyOutcome:
    exit_code: int
    level: str
    report: dict[str, Any]
    out_dir: Path
    files: list[Path] = field(default_factory=list)


def _companion_manifests(scratch: Path) -> list[Manifest]:
    """Numbered companion copies, written to ``scratch`` and parsed like any extension."""
    return [load_manifest(root) for root in make_companions(scratch)]


def declared_capabilities(m: Manifest) -> list[str]:
    """Capabilities beyond the defaults that the manifest declares."""
    caps = m.capabilities
    out = []
    if caps.network:
        out.append("network")
    if caps.filesystem:
        out.append("filesystem")
    if caps.subprocess:
        out.append("subprocess")
    return out


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


class _WorkerFactory:
    """Starts workers with the extension (and companions) materialized and loaded."""

    def __init__(self, manifest: Manifest, companions: list[Manifest], separate_uid: bool) -> None:
        self.manifest = manifest
        self.companions = companions
        self.separate_uid = separate_uid
        self.load_errors: dict[str, str] = {}

    def __call__(self) -> WorkerClient:
        worker = WorkerClient(separate_uid=self.separate_uid)
        try:
            items = []
            for m in [self.manifest, *self.companions]:
                dest = worker.ext_dir / m.name
                root = materialize(m.root, dest)
                items.append({
                    "name": m.name, "root": str(root), "entry": f"{m.entry[0]}:{m.entry[1]}",
                    "quotas": dataclasses.asdict(m.quotas),
                    "capabilities": declared_capabilities(m),
                })
            loaded = worker.call("load", extensions=items, timeout=120)
        except BaseException:
            worker.close()
            raise
        self.load_errors = dict(loaded.get("errors") or {})
        return worker


def _results_json(results: list[CheckResult]) -> list[dict[str, Any]]:
    return [r.to_json() for r in sorted(results, key=lambda r: (r.check, r.backend))]


def _check_postgres_needed(plan_needs_pg: bool, opts: CertifyOptions) -> dict[str, str]:
    """Which backends are unavailable, and why (raises BadInput when required)."""
    if not plan_needs_pg:
        return {}
    reason = "PostgreSQL backend: not wired into the worker in this harness version"
    if os.environ.get("DUFFLEBAG_REQUIRE_POSTGRES") == "1":
        raise BadInput(f"DUFFLEBAG_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {reason}")
    return {"postgresql": reason}


def certify(opts: CertifyOptions, bus: EventBus | None = None) -> CertifyOutcome:
    """Certify the extension at ``opts.path``. Raises BadInput / InternalError."""
    bus = bus or EventBus()
    if opts.profile not in ("full", "quick"):
        raise BadInput(f"--profile: {opts.profile!r} is not one of full, quick")
    path = opts.path
    if not path.exists():
        raise BadInput(f"{path}: no such file or directory")
    scratch = Path(tempfile.mkdtemp(prefix="dbc-"))
    try:
        return _certify(opts, bus, path, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_extension(path: Path, scratch: Path) -> tuple[Manifest, Path]:
    """The manifest, and what the artifact digest covers (the file as offered)."""
    try:
        if path.is_file() and path.name != "extension.toml":
            root = materialize(path, scratch / "artifact")
            return load_manifest(root), path
        manifest = load_manifest(path)
    except (ManifestError, ArtifactError) as exc:
        raise BadInput(str(exc)) from None
    return manifest, manifest.root


def _certify(opts: CertifyOptions, bus: EventBus, path: Path, scratch: Path) -> CertifyOutcome:
    from reports import (
        ReportInvalid,
        apply_waivers,
        compute_level,
        ensure_signing_key,
        fill_unplanned,
        summary,
        write_outputs,
    )
    from reports.outputs import OutputError
    from reports.signing import Signer, SigningError

    manifest, digest_target = _read_extension(path, scratch)
    registry = load_checks()
    catalog = load_catalog()
    try:
        verify_against_catalog(registry, catalog)
    except CatalogMismatch as exc:
        raise InternalError(str(exc)) from None
    try:
        plan_backends = {b for s in registry for b in s.backends}
        unavailable = _check_postgres_needed("postgresql" in plan_backends, opts)
        seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(2**31)
        plan = plan_pairs(registry, profile=opts.profile, only=opts.only,
                          unavailable_backends=unavailable,
                          shuffle_seed=seed if opts.shuffle else None)
    except KeyError as exc:
        raise BadInput(f"--only: {exc.args[0]}") from None
    out_dir = opts.out or Path("certification") / f"{manifest.name}-{manifest.version}"
    try:
        signer = Signer(gnupghome=opts.gnupghome)
        fingerprint, is_dev = ensure_signing_key(signer)
    except (SigningError, OSError, ValueError) as exc:
        raise BadInput(f"signing key: {exc}") from None
    if is_dev:
        bus.emit(Notice("warning", "signing with a local development key: the marketplace "
                                   "will not trust this report (see `dufflebag-cert keys init`)"))
    digest = artifact_digest(digest_target)
    companions = _companion_manifests(scratch / "companions")
    run_id = str(uuid.uuid4())
    started = _utc_now()
    t0 = time.monotonic()
    bus.emit(RunStarted(run_id, manifest.name, manifest.version, opts.profile,
                        [p.pair for p in plan]))
    factory = _WorkerFactory(manifest, companions, opts.separate_uid)
    executor = Executor(manifest=manifest, profile=opts.profile, seed=seed, bus=bus,
                        start_worker=factory, companions=[c.name for c in companions])
    try:
        results = executor.run(plan)
    except (WorkerError, WorkerOpError) as exc:
        raise InternalError(f"the worker could not start: {exc}") from None
    finally:
        executor.close()
    infos = executor.worker_infos
    uid_separated = bool(infos) and all(i.uid_separated for i in infos)
    finished = _utc_now()
    waivers = apply_waivers(_results_json(results), [w.to_json() for w in manifest.waivers],
                            finished.date(), catalog_checks=catalog.entries)
    results_json = fill_unplanned(_results_json(results), catalog.entries,
                                  "not selected (--only)")
    only = list(opts.only) if opts.only else None
    level = compute_level(results_json, catalog.entries, opts.profile, only)
    report: dict[str, Any] = {
        "schema_version": "0",
        "report_id": run_id,
        "harness": {"name": "dufflebag-harness", "version": __version__,
                    "digest": harness_digest()},
        "host_api_version": HOST_API_VERSION,
        "catalog": {"version": catalog.version, "checks": [dict(e) for e in catalog.entries]},
        "extension": {"name": manifest.name, "version": manifest.version,
                      "artifact": {"kind": digest.kind, "digest": digest.digest,
                                   "files": dict(digest.files)}},
        "environment": {
            **environment_facts(),
            "backends": sorted({p.backend for p in plan if not p.skip_reason}),
            "postgresql": None,
            "worker": {
                "uid_separated": uid_separated,
                "uid": infos[0].uid if infos else -1,
                "python": infos[0].python if infos else "",
                "peak_rss_mb": max((i.peak_rss_mb for i in infos), default=0.0),
                "note": infos[0].separation_note if infos else "no worker ran",
                "restarts": executor.worker_notes,
            },
        },
        "run": {"profile": opts.profile, "only": list(opts.only) if opts.only else None,
                "seed": seed, "started": _iso(started), "finished": _iso(finished),
                "duration_s": round(time.monotonic() - t0, 3)},
        "results": results_json,
        "figures": executor.figures,
        "waivers": waivers,
        "level": level,
        "summary": summary(results_json),
        "validity": {"not_before": _iso(finished),
                     "not_after": _iso(finished + dt.timedelta(days=VALIDITY_DAYS))},
        "signer": {"fingerprint": fingerprint, "development_key": is_dev},
    }
    try:
        files = write_outputs(report, out_dir, signer)
    except ReportInvalid as exc:
        raise InternalError(f"the report failed its own schema: {exc}") from None
    except OutputError as exc:
        raise BadInput(str(exc)) from None
    except SigningError as exc:
        raise BadInput(f"signing failed: {exc}") from None
    bus.emit(RunFinished(report, level))
    return CertifyOutcome(LEVEL_EXIT[level], level, report, out_dir, files)


__all__ = ["BadInput", "CertifyOptions", "CertifyOutcome", "InternalError", "certify"]
