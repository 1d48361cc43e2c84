"""The runtime capability monitor: what an extension's code touches is recorded, and
attributed to it; what the host or library code does on its own is not.

Most tests drive a real audit hook in this process with a fake extension
package written to a temporary folder; one drives the real worker.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dufflebag_harness.inside.worker import _monitor
from dufflebag_harness.inside.worker._monitor import MAX_RECORDS, Monitor

EXT_SOURCE = '''
import ctypes
import os
import pathlib
import socket
import subprocess
import threading

def read(path):
    with open(path, "rb") as fh:
        return fh.read()

def write(path, data=b"x"):
    with open(path, "wb") as fh:
        fh.write(data)

def read_via_pathlib(path):
    return pathlib.Path(path).read_bytes()

def udp(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"x", ("127.0.0.1", port))

def run_true():
    subprocess.run(["true"], check=True)

def load_libc():
    return ctypes.CDLL(None)

def lookup(monitor, host, port=443):
    monitor.audit("socket.getaddrinfo", (host, port, 0, 0, 0))

def listdir(path):
    return os.listdir(path)

def audit(monitor, event, args):
    monitor.audit(event, args)

def make_storage(cls, path):
    return cls(path)

class Poller(threading.Thread):
    pass

def start_poller(command):
    t = Poller(target=os.system, args=(command,))
    t.start()
    t.join()

def start_plain_thread(command):
    t = threading.Thread(target=os.system, args=(command,))
    t.start()
    t.join()

IMPORTED = read(__file__)
'''


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An extension root, a worker temp folder, a storage area and an 'outside' folder."""
    paths = {name: tmp_path / name for name in ("ext", "wtmp", "outside")}
    for path in paths.values():
        path.mkdir()
    package = paths["ext"] / "fake_ext_mon"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(EXT_SOURCE))
    (paths["outside"] / "secret.txt").write_text("secret")
    monkeypatch.setattr(tempfile, "tempdir", str(paths["wtmp"]))
    storage = paths["wtmp"] / "dbh-storage-abc"
    (storage / "fake_ext_mon").mkdir(parents=True)
    (storage / "neighbour").mkdir()
    (storage / "neighbour" / "data.txt").write_text("theirs")
    paths["storage"] = storage
    return paths


@pytest.fixture
def monitor(layout: dict[str, Path]) -> Iterator[Monitor]:
    mon = Monitor(roots=[str(layout["ext"])])
    _monitor.install(mon)
    try:
        yield mon
    finally:
        _monitor.deactivate()


@pytest.fixture
def ext(layout: dict[str, Path], monitor: Monitor) -> Iterator[ModuleType]:
    sys.path.append(str(layout["ext"]))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module("fake_ext_mon")
    finally:
        sys.path.remove(str(layout["ext"]))
        sys.modules.pop("fake_ext_mon", None)


def _window(monitor: Monitor, layout: dict[str, Path]) -> list[dict[str, Any]]:
    return list(monitor.usage(str(layout["ext"]))["window"])


def _targets(records: list[dict[str, Any]], kind: str) -> set[str]:
    return {r["target"] for r in records if r["kind"] == kind}


def test_undeclared_kinds_are_recorded_with_the_line_that_did_it(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    outside = str(layout["outside"] / "secret.txt")
    ext.read(outside)
    ext.udp(9)
    ext.run_true()
    ext.load_libc()
    records = _window(monitor, layout)
    assert outside in _targets(records, "file")
    assert "127.0.0.1:9" in _targets(records, "network")
    assert "true" in _targets(records, "subprocess")
    assert _targets(records, "native")
    where = next(r["where"] for r in records if r["target"] == outside)
    line = textwrap.dedent(EXT_SOURCE).splitlines().index('    with open(path, "rb") as fh:')
    assert where == f"fake_ext_mon/__init__.py:{line + 1}"


def test_own_package_temp_and_code_are_not_recorded(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    ext.read(ext.__file__)
    ext.write(str(layout["wtmp"] / "scratch.bin"))
    ext.read(os.__file__)
    assert _window(monitor, layout) == []


def test_storage_areas_are_recorded_with_their_owner(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    ext.write(str(layout["storage"] / "fake_ext_mon" / "mine.txt"))
    ext.read(str(layout["storage"] / "neighbour" / "data.txt"))
    owners = {r.get("storage_owner") for r in _window(monitor, layout)}
    assert owners == {"fake_ext_mon", "neighbour"}


def test_a_symlink_in_the_temp_folder_is_judged_by_where_it_points(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    link = layout["wtmp"] / "innocent.txt"
    link.symlink_to(layout["outside"] / "secret.txt")
    monitor.begin_window()
    ext.read(str(link))
    assert _targets(_window(monitor, layout), "file") == {
        os.path.realpath(layout["outside"] / "secret.txt")}


def test_library_code_called_by_the_extension_is_the_extension(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    ext.read_via_pathlib(str(layout["outside"] / "secret.txt"))
    ext.listdir(str(layout["outside"]))
    assert _targets(_window(monitor, layout), "file") == {
        str(layout["outside"] / "secret.txt"), str(layout["outside"])}


def test_host_code_called_by_the_extension_is_the_host(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    from dufflebag_harness.inside.host.services import RootedStorage

    monitor.begin_window()
    ext.make_storage(RootedStorage, layout["outside"] / "made-by-the-host")
    assert (layout["outside"] / "made-by-the-host").is_dir()
    assert _window(monitor, layout) == []


def test_code_outside_any_extension_is_not_recorded(
    monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    (layout["outside"] / "secret.txt").read_text()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"x", ("127.0.0.1", 9))
    assert monitor.usage(str(layout["ext"])) == {"load": [], "window": [], "dropped": 0}


def test_name_lookups_count_but_literal_addresses_and_localhost_do_not(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    for host in ("exfil.attacker.example", "127.0.0.1", "::1", "localhost", None):
        ext.lookup(monitor, host)
    assert _targets(_window(monitor, layout), "network") == {"exfil.attacker.example:443"}


def test_import_time_events_stay_visible_and_windows_start_fresh(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    ext.read(str(layout["outside"] / "secret.txt"))
    monitor.begin_window()
    ext.udp(9)
    usage = monitor.usage(str(layout["ext"]))
    assert _targets(usage["window"], "network") == {"127.0.0.1:9"}
    assert _targets(usage["window"], "file") == set()
    assert usage["load"] == []  # the import read its own file: allowed, so nothing


def test_events_before_any_window_are_the_load_bucket(
    layout: dict[str, Path], monitor: Monitor
) -> None:
    (layout["ext"] / "fake_ext_mon" / "__init__.py").write_text(
        f"with open({str(layout['outside'] / 'secret.txt')!r}) as fh:\n    fh.read()\n")
    sys.path.append(str(layout["ext"]))
    importlib.invalidate_caches()
    try:
        importlib.import_module("fake_ext_mon")
    finally:
        sys.path.remove(str(layout["ext"]))
        sys.modules.pop("fake_ext_mon", None)
    monitor.begin_window()
    usage = monitor.usage(str(layout["ext"]))
    assert _targets(usage["load"], "file") == {str(layout["outside"] / "secret.txt")}
    assert usage["window"] == []


def test_threads_whose_class_is_the_extensions_are_attributed(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    ext.start_poller("true")
    assert _targets(_window(monitor, layout), "subprocess") == {"true"}


def test_a_builtin_thread_target_is_reported_unattributed(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    ext.start_plain_thread("true")
    assert _window(monitor, layout) == []
    assert [(r["kind"], r["target"]) for r in monitor.unattributed()] == [("subprocess", "true")]


def test_repeats_are_counted_and_records_are_capped(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    for _ in range(3):
        ext.udp(9)
    for port in range(10, 10 + MAX_RECORDS + 5):
        ext.lookup(monitor, f"h{port}.example", port)
    usage = monitor.usage(str(layout["ext"]))
    counts = {r["target"]: r["count"] for r in usage["window"]}
    assert counts["127.0.0.1:9"] == 3
    assert len(usage["window"]) == MAX_RECORDS
    assert usage["dropped"] == 6


def test_odd_arguments_never_break_the_audited_call(
    ext: ModuleType, monitor: Monitor, layout: dict[str, Path]
) -> None:
    monitor.begin_window()
    for event, args in [("open", (3, "r", 0)), ("open", (b"/etc/hostname", None, 0)),
                        ("socket.connect", (None, None)), ("os.exec", ()),
                        ("socket.getnameinfo", (("8.8.8.8", 53), 0)), ("open", (None,)),
                        ("os.rename", (b"/a", 7))]:
        ext.audit(monitor, event, args)
    assert monitor.errors == 0
    assert "/etc/hostname" in _targets(_window(monitor, layout), "file")


def test_the_worker_installs_the_monitor_and_reports_through_probes(tmp_path: Path) -> None:
    """End to end: a rogue's undeclared UDP packet, seen by the probe the checks use."""
    from dufflebag_harness.outside.loader import load_manifest, materialize
    from dufflebag_harness.outside.worker_client import WorkerClient

    root = Path(__file__).resolve().parents[2] / "sample_extensions" / "rogues" / "statsd_metrics"
    manifest = load_manifest(root)
    with WorkerClient() as worker:
        copy = materialize(root, worker.ext_dir / manifest.name)
        worker.call("load", extensions=[{"name": manifest.name, "root": str(copy),
                                         "entry": str(manifest.entry)}])
        assert worker.call("probe", op="monitor.begin")["installed"] is True
        users = [{"id": 1, "username": "u", "roles": ["user"], "token": "token-12345678"}]
        started = worker.call("host.start", extensions=[manifest.name],
                              database={"backend": "sqlite"}, users=users)
        import httpx

        r = httpx.get(f"http://127.0.0.1:{started['port']}/ext/statsd_metrics/ping")
        assert r.status_code == 200
        report = worker.call("probe", op="monitor.report", extension=manifest.name)
        worker.call("host.stop", host_id=started["host_id"])
    assert {(e["kind"], e["target"]) for e in report["window_events"]} == {
        ("network", "127.0.0.1:8125")}
    assert report["window_events"][0]["where"].startswith("rogue_statsd_metrics/extension.py:")

