"""Declared network targets answer inside the sandbox with the parent's recording sinks.

Traffic is proven from the sandboxed side: a script in a sandbox (started with the
hosts, CA bundle and ``SSL_CERT_FILE`` a worker would get) talks to its declared
targets and prints what it got; the parent's record must hold what it sent. The worker
client's own sinks are checked for their lifetime and cost.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from dufflebag_harness.outside.network_sinks import (
    TARGET_BYTES,
    RunCA,
    Sinks,
    certifi_bundles,
    client_hello_sni,
    open_sinks,
    plan_targets,
    sandbox_view,
)
from dufflebag_harness.outside.sandbox import (
    SANDBOX_UID,
    NetnsError,
    SandboxRecord,
    SandboxSpec,
    SandboxSpecError,
    SandboxStatus,
    listen_in_netns,
    start,
)
from dufflebag_harness.outside.sandbox._spec import generated_files, plan_mounts
from dufflebag_harness.outside.worker_client import WorkerClient

from ._helpers import BASE_ENV

SIOCGSKNS = 0x894C
DECLARED = ["plain.example.org:80", "api.example.org:443", "*.example.org:443",
            "10.0.0.1:80", "api.example.org:*"]

TALK = r'''
import json, socket, ssl, sys, urllib.request
sys.stdin.readline()  # the parent's sinks are up
out = {"resolved": socket.gethostbyname("api.example.org")}
req = urllib.request.Request("http://plain.example.org/v1/events", method="POST",
                             data=b"plain-marker-" + sys.argv[1].encode())
with urllib.request.urlopen(req, timeout=20) as r:
    out["plain"] = [r.status, r.read().decode()]
import httpx
r = httpx.post("https://api.example.org/v1/telemetry", json={"m": "tls-marker-" + sys.argv[1]},
               timeout=20)
out["httpx"] = [r.status_code, r.text]
import requests
r = requests.get("https://api.example.org/requests", timeout=20)
out["requests"] = [r.status_code, r.text]
ctx = ssl.create_default_context()  # OpenSSL's default store: SSL_CERT_FILE
with urllib.request.urlopen("https://api.example.org/urllib", timeout=20, context=ctx) as r:
    out["urllib"] = [r.status, r.read().decode()]
raw = socket.create_connection(("plain.example.org", 80), timeout=20)
raw.sendall(b"\x00\x01 not http " + sys.argv[1].encode())
raw.close()
big = urllib.request.Request("http://plain.example.org/big", method="PUT",
                             data=b"x" * (3 * 1024 * 1024 // 2))
with urllib.request.urlopen(big, timeout=60) as r:
    out["big"] = r.status
try:
    socket.getaddrinfo("undeclared.example.net", 443)
    out["undeclared"] = "resolved"
except socket.gaierror:
    out["undeclared"] = "gaierror"
s = socket.socket()
s.settimeout(5)
try:
    s.connect(("1.1.1.1", 443))
    out["internet"] = "connected"
except OSError as exc:
    out["internet"] = exc.errno
print(json.dumps(out))
'''

HOLD = r'''
import socket, sys, time
sys.stdin.readline()
c = socket.create_connection(("plain.example.org", 80), timeout=20)
c.sendall(b"POST /slow HTTP/1.1\r\nHost: plain.example.org\r\nContent-Length: 100\r\n\r\npart")
print("sent", flush=True)
time.sleep(60)
'''


@dataclass
class Talk:
    proc: subprocess.Popen[bytes]
    sinks: Sinks
    ca: RunCA

    def go(self, timeout: float = 120) -> tuple[int, str, str]:
        out, err = self.proc.communicate(b"go\n", timeout=timeout)
        return self.proc.returncode, out.decode(), err.decode(errors="replace")


def _sandbox_pid(proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = psutil.Process(proc.pid).children()
        if children:
            return int(children[0].pid)
        time.sleep(0.01)
    raise AssertionError("the sandbox did not start")


@pytest.fixture
def talk(sandbox_status: SandboxStatus) -> Iterator[Callable[[str, str], Talk]]:
    made: list[Talk] = []

    def run(script: str, arg: str) -> Talk:
        plan = plan_targets(DECLARED)
        ca = RunCA()
        hosts, binds, env = sandbox_view(plan, ca)
        spec = SandboxSpec(env={**BASE_ENV, **env}, hosts=hosts, file_binds=binds,
                           ro_binds=(str(ca.folder),))
        proc = start(spec, [sys.executable, "-I", "-c", script, arg], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sinks = open_sinks(plan, _sandbox_pid(proc), ca)
        made.append(Talk(proc, sinks, ca))
        return made[-1]

    yield run
    for t in made:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.communicate()
        t.sinks.close()
        t.ca.close()


def test_declared_targets_answer_and_the_parent_records_what_was_sent(
        talk: Callable[[str, str], Talk]) -> None:
    t = talk(TALK, "7f3a")
    rc, out, err = t.go()
    assert rc == 0, err[-3000:]
    seen = json.loads(out)
    assert seen["resolved"] == "127.0.0.3"  # plain.example.org got 127.0.0.2
    for client in ("plain", "httpx", "requests", "urllib"):
        assert seen[client] == [200, "{}"], client
    assert seen["big"] == 200
    assert seen["undeclared"] == "gaierror"
    assert seen["internet"] == errno.ENETUNREACH

    log = t.sinks.log()
    by_path = {r["requests"][0]["path"]: r for r in log if r["requests"]}
    plain = by_path["/v1/events"]
    assert (plain["target"], plain["address"], plain["tls"]) == (
        "plain.example.org:80", "127.0.0.2", False)
    assert plain["received"].startswith(b"POST /v1/events HTTP/1.1\r\n")
    assert plain["received"].endswith(b"plain-marker-7f3a")
    for path, agent in (("/v1/telemetry", b"python-httpx"), ("/requests", b"python-requests"),
                        ("/urllib", b"Python-urllib")):
        record = by_path[path]
        assert (record["target"], record["tls"], record["sni"]) == (
            "api.example.org:443", True, "api.example.org")
        assert agent in record["received"]  # the decrypted request, not TLS records
    assert b'"m":"tls-marker-7f3a"' in by_path["/v1/telemetry"]["received"]
    assert all(isinstance(r["at"], float) and r["closed"] for r in log)

    raw = [r for r in log if not r["requests"] and r["received"]]
    assert [r["received"] for r in raw] == [b"\x00\x01 not http 7f3a"]  # recorded, unanswered
    big = by_path["/big"]  # the rest of the 1 MiB budget of plain.example.org:80
    assert big["truncated"] and big["received_bytes"] > 3 * 1024 * 1024 // 2
    kept = sum(len(r["received"]) for r in log if r["target"] == "plain.example.org:80")
    assert kept == TARGET_BYTES


def test_an_open_connection_ends_when_the_sinks_close(
        talk: Callable[[str, str], Talk]) -> None:
    t = talk(HOLD, "")
    assert t.proc.stdin is not None and t.proc.stdout is not None
    t.proc.stdin.write(b"go\n")
    t.proc.stdin.flush()
    assert t.proc.stdout.readline() == b"sent\n"
    deadline = time.monotonic() + 10
    while len(t.sinks.threads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(t.sinks.threads()) == 2  # the acceptor and the open connection
    t.sinks.close()
    assert t.sinks.threads() == []
    assert not [th for th in threading.enumerate() if th.name.startswith("dbw-sink")
                and th in t.sinks.threads()]
    (record,) = t.sinks.log()
    assert record["received"].endswith(b"\r\n\r\npart") and record["closed"]


def _fds_in(netns: tuple[int, int]) -> list[int]:
    """The parent's descriptors that are sockets of network namespace ``netns``."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            ns = fcntl.ioctl(fd, SIOCGSKNS)
        except OSError:
            continue
        try:
            st = os.fstat(ns)
            if (st.st_dev, st.st_ino) == netns:
                found.append(fd)
        finally:
            os.close(ns)
    return found


def test_the_worker_holds_sinks_that_go_away_when_it_closes(
        sandbox_status: SandboxStatus) -> None:
    worker = WorkerClient(network=DECLARED)
    try:
        plan = worker.network_plan
        assert [t.name for t in plan.targets] == ["plain.example.org:80", "api.example.org:443"]
        assert dict(plan.unreachable) == {
            "*.example.org:443": "a wildcard: a pattern, not reachable in the sandbox",
            "10.0.0.1:80": "an address, not a host name: not reachable in the sandbox",
            "api.example.org:*": "any port: a pattern, not reachable in the sandbox"}
        assert ("no sink for *.example.org:443 (a wildcard: a pattern, not reachable in the "
                "sandbox)") in worker.isolation_note
        assert worker.sandbox_record is not None
        assert worker.sandbox_record["network"] == (
            "loopback only; recording sinks for api.example.org, plain.example.org")
        kinds = {v["path"]: v["kind"] for v in worker.sandbox_record["visible"]}
        (certifi,) = certifi_bundles()
        assert kinds[certifi] == "replaced"
        inside = worker.processes()[0].pid
        st = os.stat(f"/proc/{inside}/ns/net")
        netns = (st.st_dev, st.st_ino)
        assert len(_fds_in(netns)) == 2  # one listening socket per target, in the parent
        assert [t.name for t in worker.sink_threads()] == ["dbw-sink-accept"]
        assert worker.network_log() == []
        ca_dirs = [Path(v["path"]) for v in worker.sandbox_record["visible"]
                   if Path(v["path"]).name.startswith("dbca-")]
        assert len(ca_dirs) == 1 and ca_dirs[0].is_dir()
    finally:
        worker.close()
    assert worker.sink_threads() == []
    assert _fds_in(netns) == []
    assert not ca_dirs[0].exists()


def test_no_declared_target_means_no_sinks_and_no_ca(sandbox_status: SandboxStatus) -> None:
    with WorkerClient() as worker:
        assert worker.network_plan.targets == ()
        assert worker._sinks is None and worker._ca is None  # nothing made, nothing to pay
        assert worker.sandbox_record is not None
        assert worker.sandbox_record["network"] == "none"
        assert not [v for v in worker.sandbox_record["visible"] if v["kind"] == "replaced"]
        assert worker.sink_threads() == [] and worker.network_log() == []


def test_the_run_ca_is_trusted_nowhere_but_in_the_sandbox(tmp_path: Path) -> None:
    ca = RunCA()
    try:
        assert ca.cert_pem in Path(ca.bundle).read_bytes()
        (certifi,) = certifi_bundles()
        assert ca.cert_pem not in Path(certifi).read_bytes()
        assert os.environ.get("SSL_CERT_FILE") != ca.bundle
        _hosts, binds, env = sandbox_view(plan_targets(["api.example.org:443"]), ca)
        assert binds == {certifi: ca.bundle}  # only inside the sandbox
        assert env == {"SSL_CERT_FILE": ca.bundle, "REQUESTS_CA_BUNDLE": ca.bundle}
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def serve() -> None:
            conn, _ = server.accept()
            with contextlib.suppress(OSError, ssl.SSLError):
                ca.server_context("api.example.org").wrap_socket(conn, server_side=True)
            conn.close()

        for client in (ssl.create_default_context(),
                       ssl.create_default_context(cafile=certifi)):
            thread = threading.Thread(target=serve)
            thread.start()
            with pytest.raises(ssl.SSLCertVerificationError), \
                    socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                client.wrap_socket(raw, server_hostname="api.example.org")
            thread.join(10)
        server.close()
        with pytest.raises(httpx.ConnectError):
            httpx.get("https://127.0.0.1:9/", timeout=2)  # nothing trusts it by accident
    finally:
        ca.close()
    assert not ca.folder.exists()


def test_targets_are_planned_per_host_and_patterns_are_kept_with_a_reason() -> None:
    plan = plan_targets(["API.example.org:443", "api.example.org:8443", "t.example.org:80",
                         "api.example.org:443", "*:443", "[::1]:80", "localhost:8080",
                         "single:80", "127.0.0.5:80", "[2001:db8::1]:443"])
    assert [(t.name, t.address) for t in plan.targets] == [
        ("api.example.org:443", "127.0.0.2"), ("api.example.org:8443", "127.0.0.2"),
        ("t.example.org:80", "127.0.0.3")]
    assert plan.hosts == {"api.example.org": "127.0.0.2", "t.example.org": "127.0.0.3"}
    own = "the sandbox's own loopback: only its own processes answer there"
    assert dict(plan.unreachable) == {
        "*:443": "a wildcard: a pattern, not reachable in the sandbox",
        "[::1]:80": own, "localhost:8080": own, "127.0.0.5:80": own,
        "[2001:db8::1]:443": "an address, not a host name: not reachable in the sandbox",
        "single:80": "not a host name: not reachable in the sandbox"}
    hosts = generated_files(1000, plan.hosts)["/etc/hosts"].decode()
    assert hosts.endswith("127.0.0.2\tapi.example.org\n127.0.0.3\tt.example.org\n")
    assert plan_targets([]).note() == ""


def test_the_spec_refuses_hosts_and_file_binds_it_cannot_show(tmp_path: Path,
                                                             work: Path) -> None:
    for hosts in ({"localhost": "127.0.0.2"}, {"a.example.org": "127.0.0.1"},
                  {"a.example.org": "10.0.0.2"}, {"a.example.org": "127.0.0.2",
                                                  "b.example.org": "127.0.0.2"},
                  {"bad name.example.org": "127.0.0.2"}):
        with pytest.raises(SandboxSpecError):
            SandboxSpec(hosts=hosts)
    source = tmp_path / "bundle.pem"
    source.write_text("x")
    (target,) = certifi_bundles()
    mounts = plan_mounts(SandboxSpec(file_binds={target: str(source)}))
    assert mounts[-1].kind == "replaced" and mounts[-1].source == str(source)
    inside_rw = work / "bundle.pem"
    inside_rw.write_text("x")
    for binds in ({target: str(inside_rw)}, {str(source): str(source)},
                  {"/etc/hostname-missing": str(source)}):
        with pytest.raises(SandboxSpecError):
            plan_mounts(SandboxSpec(rw_binds=(str(work),), file_binds=binds))


def test_the_record_names_the_declared_hosts(sandbox_status: SandboxStatus) -> None:
    spec = SandboxSpec(env=BASE_ENV, hosts={"api.example.org": "127.0.0.2"})
    record = SandboxRecord.from_spec(spec, sandbox_status)
    assert record.hosts == (("api.example.org", "127.0.0.2"),)
    assert record.to_json()["network"] == "loopback only; recording sinks for api.example.org"
    many = {f"host{i}.example.org": f"127.0.0.{i + 2}" for i in range(20)}
    assert SandboxRecord.from_spec(SandboxSpec(env=BASE_ENV, hosts=many), sandbox_status
                                   ).to_json()["network"] == (
        "loopback only; recording sinks for 20 declared host names")


def test_sockets_are_refused_for_the_parents_own_namespace() -> None:
    with pytest.raises(NetnsError, match="shares the parent's network namespace"):
        listen_in_netns(os.getpid(), [("127.0.0.2", 443)])


def test_the_sni_parser_takes_only_what_is_there() -> None:
    assert client_hello_sni(b"") is None
    assert client_hello_sni(b"\x16\x03\x01\x00\x05\x01\x00") is None
    assert client_hello_sni(b"GET / HTTP/1.1\r\n") is None


AS_NOBODY = r'''
import json, subprocess, sys, time
import psutil
from dufflebag_harness.outside.network_sinks import RunCA, open_sinks, plan_targets, sandbox_view
from dufflebag_harness.outside.sandbox import SandboxSpec, start
inner = (
    "import json, sys, urllib.request, httpx\n"
    "sys.stdin.readline()\n"
    "r = httpx.post('https://api.example.org/x', content=b'over-tls', timeout=20)\n"
    "p = urllib.request.urlopen(urllib.request.Request('http://plain.example.org/y', "
    "data=b'in-clear'), timeout=20)\n"
    "print(json.dumps([r.status_code, p.status]))\n")
plan = plan_targets(["plain.example.org:80", "api.example.org:443"])
ca = RunCA()
hosts, binds, env = sandbox_view(plan, ca)
spec = SandboxSpec(env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env}, hosts=hosts,
                   file_binds=binds, ro_binds=(str(ca.folder),))
proc = start(spec, [sys.executable, "-I", "-c", inner], stdin=subprocess.PIPE,
             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(0.3)
sinks = open_sinks(plan, psutil.Process(proc.pid).children()[0].pid, ca)
out, err = proc.communicate(b"go\n", timeout=120)
log = [[r["target"], r["tls"], r["received"].endswith(b"over-tls") or
        r["received"].endswith(b"in-clear")] for r in sinks.log()]
sinks.close()
ca.close()
import os
print(json.dumps({"uid": os.getuid(), "inner": out.decode(), "err": err.decode()[-2000:],
                  "log": log}))
'''


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="the suite does not run as root: it already runs unprivileged")
def test_an_unprivileged_parent_gets_the_same_sinks(sandbox_status: SandboxStatus) -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", AS_NOBODY], user=SANDBOX_UID, group=SANDBOX_UID,
        extra_groups=[], cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["uid"] == SANDBOX_UID
    assert json.loads(report["inner"]) == [200, 200], report["err"]
    assert report["log"] == [["api.example.org:443", True, True],
                             ["plain.example.org:80", False, True]]


def test_certification_judges_a_declared_target_by_its_name_and_searches_what_it_got(
        sandbox_status: SandboxStatus, tmp_path: Path) -> None:
    """phone_home posts base64 of its credential-like environment to its declared HTTPS
    endpoint: the connect to the sink's address is its declared target (IS-10 passes) and
    the decrypted request holds the planted canaries (SE-06 fails, naming the sink)."""
    from dufflebag_harness.outside.runner import CertifyOptions, certify

    rogue = Path(__file__).resolve().parents[2] / "sample_extensions/rogues/phone_home"
    outcome = certify(CertifyOptions(path=rogue, out=tmp_path / "out", profile="quick",
                                     only=["LC-01", "IS-10", "SE-06"], seed=1))
    results = {r["check"]: r for r in outcome.report["results"]
               if r["check"] in ("LC-01", "IS-10", "SE-06")}
    assert results["LC-01"]["status"] == results["IS-10"]["status"] == "pass", results
    se06 = results["SE-06"]
    assert se06["status"] == "fail"
    assert ("environment variable GITHUB_TOKEN in what was sent to telemetry.example.org:443"
            in se06["reason"]) and "decrypted" in se06["reason"]
    assert "base64" in se06["reason"]
    worker = outcome.report["environment"]["worker"]
    assert "recording sinks for telemetry.example.org" in worker["sandbox"]["network"]


def test_is10_names_a_sink_address_by_the_declared_host() -> None:
    from dufflebag_harness.conformance.isolation import _sink_names

    sent = [{"address": "127.0.0.2", "host": "api.example.org"}]
    records = [{"kind": "network", "target": "127.0.0.2:443"},
               {"kind": "network", "target": "127.0.0.2:22"},
               {"kind": "network", "target": "127.0.0.9:443"},
               {"kind": "file", "target": "/etc/127.0.0.2:443"}]
    assert [r["target"] for r in _sink_names(records, sent)] == [
        "api.example.org:443", "api.example.org:22", "127.0.0.9:443", "/etc/127.0.0.2:443"]


@pytest.mark.parametrize("delay", ["accept", "read"])
def test_the_log_holds_what_was_sent_before_it_was_asked_for(
        monkeypatch: pytest.MonkeyPatch, delay: str) -> None:
    """On a busy machine the sinks' threads can lag behind the sandbox: a connection the
    client already made and closed may still wait to be accepted, or its bytes to be
    read. Asked for afterwards, the log must hold them all the same."""
    if delay == "accept":
        start = Sinks._start

        def slow_start(self: Sinks, conn: socket.socket, target: Any) -> None:
            time.sleep(0.5)  # an acceptor thread the scheduler left waiting
            start(self, conn, target)

        monkeypatch.setattr(Sinks, "_start", slow_start)
    else:
        serve = Sinks._serve

        def slow_serve(self: Sinks, conn: socket.socket, record: Any) -> None:
            time.sleep(0.5)  # a connection thread the scheduler left waiting
            serve(self, conn, record)

        monkeypatch.setattr(Sinks, "_serve", slow_serve)
    plan = plan_targets(["plain.example.org:80"])
    listener = socket.create_server(("127.0.0.1", 0))
    sinks = Sinks(plan, [listener], None)
    try:
        with socket.create_connection(listener.getsockname()) as client:
            client.sendall(b"\x00\x01 sent last")
        log = sinks.log()
        assert [(r["target"], r["received"]) for r in log] == [
            ("plain.example.org:80", b"\x00\x01 sent last")]
    finally:
        sinks.close()
