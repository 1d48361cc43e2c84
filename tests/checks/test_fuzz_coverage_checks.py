"""FZ and CV from the inside: the fuzz driver against a live app, the test-run probe,
and the parent's own coverage measurement (end-to-end verdicts: tests/rogues/test_rogues.py)."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dufflebag_harness.conformance import CheckFailed
from dufflebag_harness.conformance._coverage_measure import (
    measure,
    parse_junit,
    source_files,
)
from dufflebag_harness.conformance._fuzz_engine import (
    Operation,
    author_documents_success,
    documented,
    extension_document,
    operations,
    run_fuzz,
)
from dufflebag_harness.conformance.coverage import own_tests_cover, own_tests_pass
from dufflebag_harness.conformance.fuzzing import (
    CONFORMANCE_CHECKS,
    SERVER_ERROR_CHECKS,
    _undocumented_success,
)
from dufflebag_harness.outside.loader import load_manifest
from dufflebag_harness.outside.sandbox import detect_sandbox
from dufflebag_harness.outside.test_run import TestRunner, TestRunResult

# -- a small live API, served on loopback like the worker's hosts ----------------------

TOKEN = "tok-manager-1234"
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "x", "content": {"application/json": {"schema": schema}}}


DOC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "demo", "version": "1"},
    "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/ext/demo/count": {"get": {
            "operationId": "count",
            "parameters": [{"name": "n", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": _json({"type": "object", "required": ["n"],
                                        "properties": {"n": {"type": "integer"}}})},
            "security": []}},
        "/ext/demo/stats": {"get": {
            "operationId": "stats", "security": [],
            "responses": {"200": _json({"type": "object", "required": ["mean"],
                                        "properties": {"mean": {"type": "number"}}})}}},
        "/ext/demo/report": {"get": {
            "operationId": "report", "security": [{"bearerAuth": []}],
            "x-dufflebag-auth": True, "x-dufflebag-roles": ["manager"],
            "responses": {"200": _json({"type": "object"}), "401": _json(ERROR),
                          "403": _json(ERROR)}}},
        "/api/v1/core": {"get": {"operationId": "core", "responses": {"200": _json({})}}},
    },
}
CALLS: list[str] = []


async def _count(request: Request) -> JSONResponse:
    return JSONResponse({"n": int(request.query_params.get("n", "0"))})  # 500 on "abc"


async def _stats(request: Request) -> JSONResponse:
    return JSONResponse({"mean": None})  # documented as a number


async def _report(request: Request) -> JSONResponse:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return JSONResponse({"error": "no"}, 401)
    return JSONResponse({"ok": True})


async def _core(request: Request) -> JSONResponse:
    CALLS.append("core")
    return JSONResponse({})


async def _openapi(request: Request) -> JSONResponse:
    return JSONResponse(DOC)


APP = Starlette(routes=[
    Route("/ext/demo/count", _count), Route("/ext/demo/stats", _stats),
    Route("/ext/demo/report", _report), Route("/api/v1/core", _core),
    Route("/openapi.json", _openapi),
])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(APP, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_document_keeps_only_the_extensions_operations(base_url: str) -> None:
    doc = extension_document(base_url, "demo")
    assert sorted(doc["paths"]) == ["/ext/demo/count", "/ext/demo/report", "/ext/demo/stats"]
    assert {op.label: op.role for op in operations(doc)} == {
        "GET /ext/demo/count": None, "GET /ext/demo/report": "manager",
        "GET /ext/demo/stats": None}


def test_server_errors_are_found_with_a_curl_line(base_url: str) -> None:
    doc = extension_document(base_url, "demo")
    run = run_fuzz(base_url, doc, {"manager": TOKEN}, checks=SERVER_ERROR_CHECKS,
                   max_examples=10, seed=3)
    assert {f.operation for f in run.failures} == {"GET /ext/demo/count"}
    assert all(f.status == 500 and f.curl.startswith("curl ") for f in run.failures)
    assert 200 in run.statuses["GET /ext/demo/report"], "the admitted role's token was not sent"
    assert CALLS == [], "an operation outside /ext/demo/ was called"
    assert run.cases >= len(doc["paths"])


def test_schema_drift_is_found_and_5xx_left_to_the_other_check(base_url: str) -> None:
    doc = extension_document(base_url, "demo")
    run = run_fuzz(base_url, doc, {"manager": TOKEN}, checks=CONFORMANCE_CHECKS,
                   max_examples=10, seed=3)
    assert {(f.operation, f.check) for f in run.failures} == {
        ("GET /ext/demo/stats", "response_schema_conformance")}
    assert "null" in run.failures[0].message


def test_only_success_statuses_the_author_documented_are_held_to() -> None:
    host_default = Operation("GET", "/ext/x/a", "a", None, {"200": {"description": "OK"}})
    authored = Operation("POST", "/ext/x/b", "b", None,
                         {"200": _json({}), "422": _json(ERROR)})
    ranged = Operation("POST", "/ext/x/c", "c", None, {"2XX": _json({})})
    assert not author_documents_success(host_default)
    assert author_documents_success(authored) and author_documents_success(ranged)
    assert documented(ranged, 204) and not documented(authored, 201)
    run = SimpleNamespace(statuses={"GET /ext/x/a": {201}, "POST /ext/x/b": {201, 422},
                                    "POST /ext/x/c": {201}})
    found = _undocumented_success([host_default, authored, ranged], run)  # type: ignore[arg-type]
    assert [(f.operation, f.status) for f in found] == [("POST /ext/x/b", 201)]


# -- the parent's measurement ------------------------------------------------------------

MODULE = """\
def f(x):
    if x:
        return 1
    return 2
"""


def _package(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(MODULE)
    (root / "pkg" / "unused.py").write_text("X = 1\n")
    (root / "other.py").write_text("def g():\n    return 3\n\ng()\n")


def _record(root: Path, data: Path, *, branch: bool = True) -> list[Path]:
    """Run f(1) (and other.py) under coverage in a child; return the data files written."""
    data.mkdir()
    driver = root.parent / "driver.py"
    driver.write_text("import sys\nsys.path.insert(0, sys.argv[1])\n"
                      "import other\nfrom pkg import mod\nmod.f(1)\n")
    cmd = [sys.executable, "-m", "coverage", "run", "--parallel-mode",
           f"--data-file={data}/.coverage", f"--include={root}/*", str(driver), str(root)]
    if branch:
        cmd.insert(4, "--branch")
    subprocess.run(cmd, check=True, cwd=root, capture_output=True)
    return sorted(data.iterdir())


def test_measure_counts_branches_and_unimported_files_and_ignores_the_rest(
        tmp_path: Path) -> None:
    root = tmp_path / "ext"
    _package(root)
    files = _record(root, tmp_path / "data")
    figures = measure(files, source_files(root, ["pkg"]), root, tmp_path / "scratch")
    # mod.py: 4 statements, 3 run; the `if` has 2 arcs, 1 taken. unused.py: 1 statement, never
    # imported. other.py ran but is not a source package, so it does not count.
    assert (figures.statements, figures.covered_lines) == (5, 3)
    assert (figures.branches, figures.covered_branches) == (2, 1)
    assert figures.percent == pytest.approx(100 * 4 / 7)
    assert figures.never_imported == ["pkg/unused.py"]
    assert set(figures.files) == {"pkg/__init__.py", "pkg/mod.py", "pkg/unused.py"}


def test_measure_analyses_the_parents_files_not_the_copy_the_tests_ran_on(
        tmp_path: Path) -> None:
    original, copy = tmp_path / "artifact", tmp_path / "worker" / "ext"
    _package(original)
    _package(copy)
    files = _record(copy, tmp_path / "data")
    (copy / "pkg" / "mod.py").write_text("pass\n")  # the test run "shrinks" its copy
    (copy / "pkg" / "unused.py").unlink()
    figures = measure(files, source_files(original, ["pkg"]), original, tmp_path / "scratch",
                      ran_at=copy)
    assert (figures.statements, figures.covered_lines, figures.covered_branches) == (5, 3, 1)
    assert figures.never_imported == ["pkg/unused.py"]


def test_measure_without_data_is_zero_and_line_only_data_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ext"
    _package(root)
    (tmp_path / "s1").mkdir()
    empty = measure([], source_files(root, ["pkg"]), root, tmp_path / "s1")
    assert empty.percent == 0 and empty.statements == 5
    lines_only = _record(root, tmp_path / "data", branch=False)
    (tmp_path / "s2").mkdir()
    with pytest.raises(CheckFailed, match="no branch information"):
        measure(lines_only, source_files(root, ["pkg"]), root, tmp_path / "s2")


def test_unknown_source_package_names_the_manifest_field(tmp_path: Path) -> None:
    _package(tmp_path)
    with pytest.raises(CheckFailed, match=r"\[tests\]\.source\[1\]: 'nope'"):
        source_files(tmp_path, ["pkg", "nope"])


def test_junit_that_is_not_a_report_is_no_result(tmp_path: Path) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("<html>")
    assert parse_junit(bad) is None and parse_junit(None) is None


# -- the probe and the checks, without a worker process ------------------------------------


def _extension(root: Path, tests: str, source: str = MODULE) -> Path:
    root.mkdir(parents=True)
    (root / "extension.toml").write_text(textwrap.dedent("""\
        [extension]
        name = "cvdemo"
        version = "1.0.0"
        entry = "cvdemo.extension:Demo"
        description = "d"
        author = "a"
        license = "MIT"
        homepage = "https://example.org"
        host_api = ">=1.0,<2"

        [tests]
        paths = ["tests"]
        source = ["cvdemo"]
        """))
    (root / "cvdemo").mkdir()
    (root / "cvdemo" / "__init__.py").write_text("")
    (root / "cvdemo" / "extension.py").write_text("class Demo:\n    pass\n\n" + source)
    (root / "tests").mkdir()
    (root / "tests" / "test_demo.py").write_text(textwrap.dedent(tests))
    # the author's coverage settings would hide everything; the harness ignores them
    (root / ".coveragerc").write_text("[run]\nomit = */cvdemo/*\n[report]\nfail_under = 0\n")
    return root


def _sandbox_available() -> bool:
    return detect_sandbox().usable


class _Ctx:
    """Just enough of the runner's context to run a CV check: a real test runner (in the
    sandbox when the machine has one), no worker process."""

    def __init__(self, root: Path, runner: TestRunner) -> None:
        self.extension = "cvdemo"
        self.manifest = load_manifest(root)
        self.runner = runner
        self.figures: dict[str, Any] = {}

    def test_run(self) -> TestRunResult:
        return self.runner.result()

    def figure(self, key: str, value: Any) -> None:
        self.figures[key] = value


def test_checks_judge_the_harness_run_not_the_authors_config(tmp_path: Path) -> None:
    root = _extension(tmp_path / "ext" / "cvdemo", """\
        from cvdemo.extension import f

        def test_true():
            assert f(1) == 1
        """)
    with TestRunner(load_manifest(root), sandbox=_sandbox_available()) as runner:
        ctx = _Ctx(root, runner)
        own_tests_pass(ctx)  # type: ignore[arg-type]
        assert ctx.figures["tests"]["succeeded"] == 1 and ctx.figures["tests"]["failed"] == 0
        with pytest.raises(CheckFailed, match="below 80 %") as caught:
            own_tests_cover(ctx)  # type: ignore[arg-type]
    # extension.py: class + body + def + if + 2 returns = 6 statements, 5 run; 1 of 2 arcs
    assert ctx.figures["coverage"]["lines_total"] == 6
    assert ctx.figures["coverage"]["percent"] == pytest.approx(100 * 6 / 8, abs=0.01)
    assert "cvdemo/extension.py" in caught.value.evidence["least_covered"]
    assert sorted(p.name for p in root.glob(".coverage*")) == [".coveragerc"]


def test_no_collected_test_fails_and_a_hung_suite_is_stopped(tmp_path: Path) -> None:
    root = _extension(tmp_path / "ext" / "cvdemo", """\
        def helper():
            assert True
        """)
    with TestRunner(load_manifest(root), sandbox=_sandbox_available()) as runner, \
            pytest.raises(CheckFailed, match="no test ran"):
        own_tests_pass(_Ctx(root, runner))  # type: ignore[arg-type]
    (root / "tests" / "test_slow.py").write_text("import time\n\ndef test_slow():\n"
                                                 "    time.sleep(60)\n")
    t0 = time.monotonic()
    with TestRunner(load_manifest(root), sandbox=_sandbox_available(),
                    timeout_s=1.5) as runner:
        run = runner.result()
        assert run.timed_out and run.exit_code is None
        with pytest.raises(CheckFailed, match="did not finish"):
            own_tests_pass(_Ctx(root, runner))  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 20


def test_fuzzing_is_paced_under_the_extensions_rate_quota(base_url: str) -> None:
    doc = extension_document(base_url, "demo")
    doc["paths"] = {"/ext/demo/stats": doc["paths"]["/ext/demo/stats"]}
    t0 = time.monotonic()
    run = run_fuzz(base_url, doc, {}, checks=SERVER_ERROR_CHECKS, max_examples=5, seed=1,
                   rate_limit=5)
    # at most 5 requests in any second: n requests need at least ceil(n / 5) - 1 seconds
    assert run.cases > 5 and time.monotonic() - t0 >= math.ceil(run.cases / 5) - 1


def test_fuzzing_leaves_nothing_in_the_working_directory(base_url: str, tmp_path: Path) -> None:
    # a fresh interpreter: hypothesis writes its caches on first use, into ./.hypothesis
    code = ("import sys\n"
            "from dufflebag_harness.conformance._fuzz_engine import extension_document, run_fuzz\n"
            "doc = extension_document(sys.argv[1], 'demo')\n"
            "run_fuzz(sys.argv[1], doc, {'manager': 'x'}, checks=['not_a_server_error'],"
            " max_examples=3, seed=1)\n")
    subprocess.run([sys.executable, "-c", code, base_url], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    assert list(tmp_path.iterdir()) == []



def test_fuzz_runs_that_overlap_give_hypothesis_its_home_back(tmp_path: Path) -> None:
    """FZ-01 and FZ-02 may fuzz at once on two lanes, and Hypothesis has one home per
    process: when the first to start ends first, the home must still end as it was, not
    in a folder already removed (where a later write would leave a folder behind)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    code = ("from hypothesis import configuration\n"
            "from dufflebag_harness.conformance._fuzz_engine import _private_hypothesis_home\n"
            "def home():\n"
            "    return configuration.storage_directory(intent_to_write=False).home_directory\n"
            "before = home()\n"
            "first, second = _private_hypothesis_home(), _private_hypothesis_home()\n"
            "first.__enter__()\n"
            "inside = home()\n"
            "second.__enter__()\n"
            "first.__exit__(None, None, None)\n"
            "assert home() == inside, (home(), inside)  # the second still fuzzes there\n"
            "second.__exit__(None, None, None)\n"
            "assert home() == before, (home(), before)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in scratch.iterdir()) == []
