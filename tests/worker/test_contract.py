"""The worker contract: one table of ops and probes, held to on both sides of the pipe."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import pytest

from dufflebag_harness.inside.worker import _perf_probes, _probes
from dufflebag_harness.inside.worker._server import WorkerServer
from dufflebag_harness.outside.worker_client import WorkerClient, WorkerError, WorkerOpError
from dufflebag_harness.shared import contract
from dufflebag_harness.shared.contract import ContractError, bind, check
from dufflebag_harness.shared.protocol import LineReader, decode, encode

ROOT = Path(__file__).resolve().parents[2]

#: Changing the worker's interface changes this list.
OPS = ["hello", "load", "host.start", "host.stop", "probe", "shutdown"]
PROBES = [
    "describe", "lifecycle", "lifecycle.leaks",
    "auth.users", "auth.audit",
    "config.reload", "config.compare", "config.view",
    "db.open", "db.close", "db.structure", "db.digests", "db.rows", "db.insert", "db.attempt",
    "db.migrate", "db.endless", "db.busy", "db.migration_texts",
    "hooks.trace", "monitor.begin", "monitor.report", "logs.begin", "logs.collect",
    "perf.memory",
    "quota.set", "quota.slow", "quota.calls",
    "storage.plant", "storage.attack",
    "globals.fingerprint",
]


def test_the_names_are_pinned() -> None:
    assert list(contract.OPS) == OPS
    assert sorted(contract.PROBES) == sorted(PROBES)
    assert len(PROBES) == len(set(PROBES)) == 31
    for name, spec in {**contract.OPS, **contract.PROBES}.items():
        assert len(spec.doc.split()) >= 3, f"{name}: say what it measures and why inside"


# -- every call the parent makes names a declared entry, with declared keys ------------------

def _literal_calls() -> list[tuple[str, str, str, set[str], bool]]:
    """(where, table, name, keyword names, has **) of every call by literal name in the
    parent: ``x.probe("…")``, ``x._probe("…")``, ``x._drive("…")``, ``x.call("…")``."""
    found = []
    for folder in ("conformance", "harness/outside"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.args and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    continue
                attr, name = node.func.attr, node.args[0].value
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                keys = {k.arg for k in node.keywords if k.arg is not None} - {"timeout"}
                splat = any(k.arg is None for k in node.keywords)
                if attr in ("probe", "_probe", "_drive"):
                    found.append((where, "PROBES", name, keys, splat))
                elif attr == "call":
                    op = next((k.value for k in node.keywords if k.arg == "op"), None)
                    if name == "probe" and isinstance(op, ast.Constant):
                        found.append((where, "PROBES", str(op.value), keys - {"op"}, splat))
                    else:
                        found.append((where, "OPS", name, keys, splat))
    return found


def test_every_call_of_the_parent_names_a_declared_entry_with_declared_keys() -> None:
    calls = _literal_calls()
    problems = []
    for where, table, name, keys, splat in calls:
        spec = getattr(contract, table).get(name)
        if spec is None:
            problems.append(f"{where}: {name!r} is not in contract.{table}")
            continue
        if name == "probe" and table == "OPS":
            continue  # a probe named by a variable (RunContext.probe): checked at run time
        declared = spec.args.__annotations__.keys()
        problems += [f"{where}: {name!r} has no argument {k!r}" for k in sorted(keys - declared)]
        if not splat:
            problems += [f"{where}: {name!r} needs {k!r}"
                         for k in sorted(spec.args.__required_keys__ - keys)]
    assert not problems, "\n".join(problems)
    # and nothing is declared that the parent never asks for
    called = {(table, name) for _, table, name, _, _ in calls}
    assert {("OPS", n) for n in OPS} <= called
    assert {("PROBES", n) for n in PROBES} <= called


# -- the worker refuses -------------------------------------------------------------------

def _serve(*requests: dict[str, Any]) -> list[dict[str, Any]]:
    """The worker's replies to ``requests`` (then shutdown), in this process."""
    cmd_r, cmd_w = os.pipe()
    rep_r, rep_w = os.pipe()
    messages = [{"v": 0, "id": i + 1, **r} for i, r in enumerate(requests)]
    messages.append({"v": 0, "id": 999, "op": "shutdown", "args": {}})
    with os.fdopen(cmd_w, "wb") as pipe:
        for m in messages:
            pipe.write(encode(m))
    try:
        assert WorkerServer().serve(cmd_r, rep_w) == 0
    finally:
        os.close(cmd_r)
        os.close(rep_w)
    reader = LineReader(rep_r)
    replies = []
    while (line := reader.read_line()) is not None:
        replies.append(decode(line))
    os.close(rep_r)
    assert replies[-1] == {"v": 0, "id": 999, "ok": True, "result": {}}
    return replies[:-1]


def _error(reply: dict[str, Any]) -> tuple[str, str]:
    assert reply["ok"] is False, reply
    return reply["error"]["kind"], reply["error"]["message"]


def test_the_worker_refuses_names_and_arguments_outside_the_contract() -> None:
    replies = _serve(
        {"op": "no.such.op", "args": {}},
        {"op": "probe", "args": {"op": "no.such.probe"}},
        {"op": "probe", "args": {"op": "quota.slow", "host_id": "h1"}},
        {"op": "probe", "args": {"op": "quota.slow", "host_id": "h1", "extension": "x",
                                 "hold": 1}},
        {"op": "probe", "args": {"op": "quota.slow", "host_id": "h1", "extension": "x",
                                 "hold_s": "long"}},
        {"op": "probe", "args": {"op": "db.migrate", "database": "d", "extension": "x",
                                 "action": "sideways"}},
        {"op": "host.stop", "args": {"host_id": 7}},
        {"op": "load", "args": {"extensions": [{"name": "x", "root": "/x"}]}},
        {"op": "hello", "args": {"verbose": True}},
    )
    assert _error(replies[0]) == ("UnknownOp",
                                  "unknown op 'no.such.op': not in the worker contract")
    assert _error(replies[1]) == ("UnknownProbe",
                                  "no probe 'no.such.probe' in the worker contract")
    # refused before the probe runs: no "UnknownHost" for host h1
    assert [_error(r) for r in replies[2:]] == [
        ("BadArguments", "probe 'quota.slow': args: missing key 'extension'"),
        ("BadArguments", "probe 'quota.slow': args: unknown key 'hold'"),
        ("BadArguments", "probe 'quota.slow': args.hold_s: expected float, got str"),
        ("BadArguments", "probe 'db.migrate': args.action: expected "
                         "Literal['up', 'down', 'up_failing', 'up_edited'], got str"),
        ("BadArguments", "op 'host.stop': args.host_id: expected str, got int"),
        ("BadArguments", "op 'load': args.extensions[0]: missing key 'entry'"),
        ("BadArguments", "op 'hello': args: unknown key 'verbose'"),
    ]


def test_the_worker_answers_calls_that_fit() -> None:
    hello, began, memory = _serve(
        {"op": "hello", "args": {}},
        {"op": "probe", "args": {"op": "monitor.begin"}},
        {"op": "probe", "args": {"op": "perf.memory", "collect": False}},
    )
    for reply, (op, args) in zip((hello, began, memory), (
            ("hello", {}), ("probe", {"op": "monitor.begin"}),
            ("probe", {"op": "perf.memory", "collect": False})), strict=True):
        assert reply["ok"] is True, reply
        contract.check_result(op, args, reply["result"])


# -- the parent refuses -------------------------------------------------------------------

class _Canned(WorkerClient):
    """A worker client whose worker answers ``result`` to everything (no process)."""

    def __init__(self, result: Any) -> None:  # no worker is started
        self.dead: str | None = None
        self.ports = frozenset({8000})
        self.op_timeout_s = 10.0
        self._lock = threading.Lock()
        self._next_id = 0
        self._read_end, self._cmd_w = os.pipe()
        self.result = result
        self.sent = 0

    def _read_reply(self, op: str, req_id: int, timeout: float) -> dict[str, Any]:
        self.sent += 1
        return {"v": 0, "id": req_id, "ok": True, "result": self.result}

    def kill(self, reason: str) -> None:
        self.dead = self.dead or reason

    def close(self) -> None:
        os.close(self._read_end)
        os.close(self._cmd_w)


@pytest.fixture
def canned() -> Any:
    made: list[_Canned] = []

    def make(result: Any) -> _Canned:
        made.append(_Canned(result))
        return made[-1]

    yield make
    for worker in made:
        worker.close()


def test_the_parent_sends_nothing_outside_the_contract(canned: Any) -> None:
    worker = canned({})
    with pytest.raises(WorkerOpError, match=r"UnknownOp: unknown op 'no\.such\.op'"):
        worker.call("no.such.op")
    with pytest.raises(WorkerOpError, match=r"UnknownProbe: no probe 'no\.such'"):
        worker.call("probe", op="no.such")
    with pytest.raises(WorkerOpError, match=r"probe 'db.rows': args: missing key 'table'"):
        worker.call("probe", op="db.rows", database="d", schema="core")
    with pytest.raises(WorkerOpError, match=r"probe 'quota.set': args.concurrent_requests: "
                                            r"expected int, got float"):
        worker.call("probe", op="quota.set", host_id="h1", extension="x",
                    concurrent_requests=2.5)
    assert worker.sent == 0 and worker.dead is None


def test_the_parent_refuses_a_result_of_another_shape(canned: Any) -> None:
    fits = {"slowed": True, "calls": [{"start_s": 0, "duration_s": 0.5,
                                       "outcome": "completed"}], "max_active": 1, "active": 0}
    assert canned(fits).call("probe", op="quota.calls", host_id="h1", extension="x") == fits
    for result, where in (
        ({**fits, "max_active": "1"}, r"result.max_active: expected int, got str"),
        ({**fits, "max_active": True}, r"result.max_active: expected int, got bool"),
        ({**fits, "verdict": "pass"}, r"result: unknown key 'verdict'"),
        ({k: v for k, v in fits.items() if k != "calls"}, r"result: missing key 'calls'"),
        ({**fits, "calls": [{"start_s": 0, "duration_s": 0.5, "outcome": "fine"}]},
         r"result.calls\[0\].outcome: expected Literal"),
        (["not", "an", "object"], r"result: expected Calls, got list"),
    ):
        worker = canned(result)
        with pytest.raises(WorkerError, match=r"^invalid reply to probe: probe 'quota.calls': "
                                              + where):
            worker.call("probe", op="quota.calls", host_id="h1", extension="x")
        assert worker.dead is not None and "quota.calls" in worker.dead  # killed: fail closed
    worker = canned({"uid": 1, "gid": 1, "pid": 2, "python": "3.11", "harness_version": "0",
                     "protocol": 0})
    with pytest.raises(WorkerError, match="op 'hello': result: missing key 'isolated'"):
        worker.call("hello")


# -- the worker's registry is the contract ------------------------------------------------

def test_the_worker_registry_is_the_contract() -> None:
    assert list(WorkerServer().ops) == list(contract.OPS)
    assert list(_probes.PROBES) == list(contract.PROBES)
    assert bind(contract.PROBES, _probes._discover(), "probes") == _probes.PROBES


def test_a_probe_not_declared_or_not_implemented_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_perf_probes.PROBES, "perf.extra", _perf_probes.probe_memory)
    with pytest.raises(ContractError, match=r"implemented but not declared: perf\.extra"):
        bind(contract.PROBES, _probes._discover(), "probes")
    monkeypatch.delitem(_perf_probes.PROBES, "perf.extra")
    monkeypatch.delitem(_perf_probes.PROBES, "perf.memory")
    with pytest.raises(ContractError, match=r"declared but not implemented: perf\.memory"):
        bind(contract.PROBES, _probes._discover(), "probes")


@pytest.mark.parametrize(("setup", "message"), [
    ("from dufflebag_harness.inside.worker import _perf_probes\n"
     "_perf_probes.PROBES['perf.extra'] = _perf_probes.probe_memory",
     "implemented but not declared: perf.extra"),
    ("import types\n"
     "contract.PROBES = types.MappingProxyType({**contract.PROBES, "
     "'perf.other': contract.PROBES['perf.memory']})",
     "declared but not implemented: perf.other"),
    ("import types\n"
     "contract.OPS = types.MappingProxyType({**contract.OPS, 'reset': contract.OPS['hello']})",
     "declared but not implemented: reset"),
])
def test_a_worker_that_differs_from_the_contract_does_not_start(setup: str, message: str) -> None:
    code = ("from dufflebag_harness.shared import contract\n" + setup + "\n"
            "from dufflebag_harness.inside.worker._server import WorkerServer\n"
            "WorkerServer()\n")
    run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode != 0
    assert "ContractError: ContractMismatch" in run.stderr and message in run.stderr


# -- the checker itself -----------------------------------------------------------------

class _Inner(TypedDict):
    n: int


class _Shape(TypedDict):
    name: str
    ratio: float
    flag: bool
    maybe: str | None
    items: list[_Inner]
    table: dict[str, int | str]
    kind: Literal["a", "b"]
    anything: Any
    extra: NotRequired[list[str]]


def test_the_checker_names_the_place_that_does_not_fit() -> None:
    good = {"name": "x", "ratio": 1, "flag": False, "maybe": None, "items": [{"n": 1}],
            "table": {"a": 1, "b": "2"}, "kind": "a", "anything": {"deep": [object]}}
    check(good, _Shape)
    check({**good, "extra": ["y"], "ratio": 0.5, "maybe": "z"}, _Shape)
    for change, message in (
        ({"name": None}, "v.name: expected str, got None"),
        ({"ratio": True}, "v.ratio: expected float, got bool"),
        ({"flag": 0}, "v.flag: expected bool, got int"),
        ({"maybe": 3}, "v.maybe: expected str, got int"),
        ({"items": [{"n": 1}, {"n": 1.5}]}, "v.items[1].n: expected int, got float"),
        ({"items": [{}]}, "v.items[0]: missing key 'n'"),
        ({"table": {"a": [1]}}, "v.table['a']: expected int | str, got list"),
        ({"kind": "c"}, "v.kind: expected Literal['a', 'b'], got str"),
        ({"extra": "y"}, "v.extra: expected list[str], got str"),
        ({"other": 1}, "v: unknown key 'other'"),
    ):
        with pytest.raises(ContractError) as caught:
            check({**good, **change}, _Shape, "v")
        assert caught.value.message == message
