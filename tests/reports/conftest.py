"""Sample reports for the report tests: a small catalog and a valid report factory."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from dufflebag_harness.reports._gpg import kill_agent
from dufflebag_harness.reports.keys import export_keys, init_key
from dufflebag_harness.reports.model import (
    ArtifactInfo,
    CatalogCheck,
    Report,
    ResultDict,
    build_report,
    make_result,
)
from dufflebag_harness.reports.verify import VerifyOutcome
from dufflebag_harness.reports.verify import verify as reports_verify

CATALOG: list[CatalogCheck] = [
    {"id": "IS-01", "title": "Cannot read other schemas", "severity": "required",
     "backends": ["sqlite", "postgresql"], "requires": ["REQ-1.5"]},
    {"id": "LC-01", "title": "Metadata equals manifest", "severity": "required",
     "backends": ["sqlite"], "requires": ["REQ-1.1"]},
    {"id": "PE-02", "title": "Declared permissions are used", "severity": "advisory",
     "backends": ["sqlite"], "requires": ["REQ-2.1"]},
    {"id": "RT-02", "title": "Route escapes are refused", "severity": "required",
     "backends": ["mock"], "requires": ["REQ-1.2"]},
]
#: Each toy check's fix text, as a check's ``fix`` reads (written here, not taken from code).
FIXES = {
    "IS-01": "Query only your own schema: use the engine the host gives you.",
    "LC-01": "Make `metadata()` return exactly the name and version of extension.toml.",
    "PE-02": "Declare only the permissions your routes use.",
    "RT-02": "Register routes below /ext/<name>/ only.",
}
REQUIRED_PAIRS = ["IS-01@postgresql", "IS-01@sqlite", "LC-01@sqlite", "RT-02@mock"]
#: CATALOG as a catalog.toml: reports built on it verify only with ``catalog=TOY_CATALOG``.
TOY_CATALOG = Path(__file__).resolve().parent / "toy_catalog.toml"
FINGERPRINT = "A" * 40
FINISHED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

ReportFactory = Callable[..., Report]


def catalog_toml(checks: Sequence[Mapping[str, Any]]) -> str:
    """A catalog.toml holding ``checks`` (as ``conformance/catalog.toml`` is written)."""
    lines = []
    for c in checks:
        lines += ["[[check]]", f"id = {json.dumps(c['id'])}",
                  f"title = {json.dumps(c['title'], ensure_ascii=False)}",
                  f"severity = {json.dumps(c['severity'])}",
                  f"backends = {json.dumps(list(c['backends']))}",
                  f"requires = {json.dumps(list(c['requires']))}", ""]
    return "\n".join(lines)


def verify(report: Path | str, keyring: Path | str, **kwargs: Any) -> VerifyOutcome:
    """:func:`dufflebag_harness.reports.verify`, knowing the catalog these tests build on."""
    kwargs.setdefault("catalog", TOY_CATALOG)
    return reports_verify(report, keyring, **kwargs)


def results_for(statuses: Mapping[str, str], reasons: Mapping[str, str] | None = None,
                catalog: Sequence[CatalogCheck] = CATALOG) -> list[ResultDict]:
    """One result per catalog pair, ``pass`` unless ``statuses`` says otherwise."""
    out = []
    for entry in catalog:
        for backend in entry["backends"]:
            pair = f"{entry['id']}@{backend}"
            if statuses.get(pair) == "absent":
                continue
            status = statuses.get(pair, "pass")
            out.append(make_result(
                entry["id"], backend, status, entry["severity"],  # type: ignore[arg-type]
                title=entry["title"], reason=(reasons or {}).get(pair, ""),
                evidence={"status_code": 500} if status != "pass" else {},
                duration_s=0.25,
            ))
    return out


#: A sandbox record as a sandboxed run writes it (written out here, not taken from the code).
SANDBOX: dict[str, Any] = {
    "tool": "bubblewrap", "version": "0.8.0",
    "namespaces": ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"],
    "uid": 65534, "host_uid": 0, "network": "none",
    "visible": [{"path": "/usr", "mode": "ro", "kind": "bind"},
                {"path": "/tmp/dbw-x", "mode": "rw", "kind": "bind"}],
    "memory_limit_mb": 1280, "rlimit": "RLIMIT_DATA",
}


def make_report(
    statuses: Mapping[str, str] | None = None,
    *,
    profile: str = "full",
    only: list[str] | None = None,
    sandbox: Mapping[str, Any] | str | None = "default",
    fingerprint: str | None = FINGERPRINT,
    development_key: bool = False,
    finished: datetime = FINISHED,
    reasons: Mapping[str, str] | None = None,
    extension_name: str = "analytics",
    validity_days: int = 365,
    artifact: ArtifactInfo | None = None,
    waivers: Sequence[Mapping[str, Any]] = (),
    unplanned: str | None = None,
    catalog: Sequence[CatalogCheck] = CATALOG,
    fixes: Mapping[str, str] | None = None,
) -> Report:
    started = finished - timedelta(seconds=42)
    return build_report(
        harness={"name": "dufflebag-harness", "version": "0.1.0",
                 "digest": "sha256:" + "1" * 64},
        host_api_version="1.0.0",
        catalog_checks=copy.deepcopy(list(catalog)),
        extension={"name": extension_name, "version": "1.0.0",
                   "artifact": artifact or {"kind": "folder", "digest": "sha256:" + "2" * 64,
                                            "files": {"extension.toml": "3" * 64}}},
        environment={"python": "3.11.7", "os": "Linux-6.1", "machine": "x86_64",
                     "backends": ["mock", "sqlite", "postgresql"],
                     "postgresql": {"version": "15.18", "provider": "local"},
                     "worker": {"sandbox": SANDBOX if sandbox == "default" else sandbox,
                                "uid": 65534,
                                "python": "3.11.7", "peak_rss_mb": 80.5}},
        run={"profile": profile, "only": only, "seed": 1234,  # type: ignore[typeddict-item]
             "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "finished": finished.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_s": 42.0},
        results=results_for(statuses or {}, reasons, catalog),
        signer=(None if fingerprint is None
                else {"fingerprint": fingerprint, "development_key": development_key}),
        figures={"overhead.p95_ms": 1.2, "coverage.percent": 91.0},
        waivers=waivers,
        unplanned=unplanned,
        validity_days=validity_days,
        fixes=FIXES if fixes is None else fixes,
    )


@pytest.fixture
def report_factory() -> ReportFactory:
    return make_report


@pytest.fixture
def report() -> dict[str, Any]:
    return dict(make_report())


# --- GnuPG homes -------------------------------------------------------------------
# Homes live directly under /tmp with short names: gpg-agent sockets fail past ~107
# bytes, and pytest's tmp_path can be longer than that.


def short_home(prefix: str = "dbt") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def remove_home(home: Path) -> None:
    kill_agent(home)
    shutil.rmtree(home, ignore_errors=True)


def running_agents(home: Path, wait_s: float = 3.0) -> list[int]:
    """PIDs of live (non-zombie) gpg-agents serving ``home``, after a short grace period."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for proc in psutil.process_iter(["name", "cmdline", "status"]):
            if proc.info["name"] != "gpg-agent" or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if str(home) in " ".join(proc.info["cmdline"] or ()):
                found.append(proc.pid)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@dataclass(frozen=True)
class KeyHome:
    """A GnuPG home holding one signing key, and that key's exported public keyring."""

    home: Path
    fingerprint: str
    keyring: Path


def _key_home(development: bool) -> KeyHome:
    home = short_home("dbk")
    fingerprint = init_key(home=home, passphrase="", development=development,
                           name="Test signer", email="test@dufflebag.invalid")
    keyring = home / "public.asc"
    keyring.write_text(export_keys([fingerprint], home=home))
    return KeyHome(home, fingerprint, keyring)


@pytest.fixture(scope="session")
def signing_key() -> Iterator[KeyHome]:
    """A marketplace-trusted signing key (made once per session: key generation is slow-ish)."""
    key = _key_home(development=False)
    yield key
    remove_home(key.home)


@pytest.fixture(scope="session")
def other_key() -> Iterator[KeyHome]:
    """A second, unrelated key: a signer the keyring of ``signing_key`` does not trust."""
    key = _key_home(development=False)
    yield key
    remove_home(key.home)


@pytest.fixture
def gnupg_home() -> Iterator[Path]:
    """An empty, short GnuPG home for one test."""
    home = short_home()
    yield home
    remove_home(home)


@pytest.fixture(scope="session")
def _default_home() -> Iterator[Path]:
    home = short_home("dbh")
    yield home
    remove_home(home)


@pytest.fixture(autouse=True)
def _no_signing_environment(monkeypatch: pytest.MonkeyPatch, _default_home: Path) -> None:
    """The developer's own signing configuration must not leak into these tests, and
    nothing may fall back to the real default home."""
    for name in ("DUFFLEBAG_SIGNING_KEY", "DUFFLEBAG_SIGNING_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUFFLEBAG_GNUPGHOME", str(_default_home))
