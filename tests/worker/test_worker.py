"""The worker: isolated interpreter, scrubbed environment, capped JSON, fail closed."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from dufflebag_harness.outside.worker_client import WorkerClient, WorkerError, WorkerOpError
from dufflebag_harness.shared.protocol import MAX_MESSAGE_BYTES, ProtocolError, decode, encode


def _write_ext(root: Path, body: str) -> Path:
    pkg = root / "probe_ext"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(body))
    os.chmod(root, 0o755)
    return root


def test_messages_are_capped_both_ways() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        encode({"blob": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(ProtocolError, match="exceeds"):
        decode(b"{" + b" " * MAX_MESSAGE_BYTES + b"}")
    with pytest.raises(ProtocolError, match="not JSON"):
        decode(b"\x80garbage")
    with pytest.raises(ProtocolError, match="JSON object"):
        decode(b"[1, 2]")


def test_worker_is_isolated_and_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", "/secret/gnupg")
    monkeypatch.setenv("DUFFLEBAG_SIGNING_KEY", "ABCDEF")
    with WorkerClient() as worker:
        info = worker.call("hello")
        assert info["isolated"] is True
        # sandboxed: an unprivileged uid of its own in namespaces of its own, as recorded
        assert worker.info.sandbox is not None
        assert info["uid"] == worker.info.sandbox["uid"] != 0
        assert info["pid"] != worker.proc.pid
        assert worker.info.sandboxed and worker.info.sandbox is not None
        assert worker.info.sandbox["network"] == "none"
        root = _write_ext(worker.ext_dir / "probe", """
            import json, os, sys
            from dufflebag_harness.sdk import Extension, Metadata
            with open(os.path.join(os.environ["HOME"], "env.json"), "w") as f:
                json.dump({"env": dict(os.environ), "path": sys.path}, f)
            class Probe(Extension):
                metadata = Metadata(name="probe_ext", version="1.0.0")
        """)
        loaded = worker.call("load", extensions=[
            {"name": "probe_ext", "root": str(root), "entry": "probe_ext:Probe"}])
        assert loaded["errors"] == {}
        assert loaded["loaded"]["probe_ext"]["metadata"]["version"] == "1.0.0"
        described = worker.call("probe", op="describe", extension="probe_ext")
        assert described["metadata"]["name"] == "probe_ext"
        seen = json.loads((worker.ext_dir.parent / "home" / "env.json").read_text())
        assert "GNUPGHOME" not in seen["env"]
        assert not any(k.startswith("DUFFLEBAG_") for k in seen["env"])
        assert seen["env"]["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
        assert seen["env"]["HOME"] != os.environ.get("HOME")
        assert os.getcwd() not in seen["path"]


def test_import_failure_is_data_not_a_crash(tmp_path: Path) -> None:
    with WorkerClient() as worker:
        root = _write_ext(worker.ext_dir / "bad", "raise RuntimeError('boom at import')\n")
        loaded = worker.call("load", extensions=[
            {"name": "probe_ext", "root": str(root), "entry": "probe_ext:Nope"}])
        assert "boom at import" in loaded["errors"]["probe_ext"]
        with pytest.raises(WorkerOpError, match="UnknownOp"):
            worker.call("no.such.op")


def test_killed_worker_fails_closed() -> None:
    worker = WorkerClient()
    try:
        for proc in worker.processes():  # the worker itself dies, as in a crash
            proc.kill()
        # depending on timing the request cannot be sent (broken pipe) or the reply
        # never comes (exited): either way it is a WorkerError, never an answer
        with pytest.raises(WorkerError, match=r"exited|could not send"):
            worker.call("hello", timeout=10)
        with pytest.raises(WorkerError, match="gone"):
            worker.call("hello")
    finally:
        worker.close()


def test_timeout_kills_the_worker(tmp_path: Path) -> None:
    with WorkerClient() as worker:
        root = _write_ext(worker.ext_dir / "slow", """
            import time
            time.sleep(30)
        """)
        with pytest.raises(WorkerError, match="timed out"):
            worker.call("load", timeout=1, extensions=[
                {"name": "probe_ext", "root": str(root), "entry": "probe_ext:X"}])
        assert worker.proc.poll() is not None
