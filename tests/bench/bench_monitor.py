"""What the capability monitor's audit hook costs per audited event.

Not collected by default. Run it alone (an audit hook cannot be removed, so the
no-hook baseline must be measured before any test installs one)::

    PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -p pytest_benchmark.plugin \\
        -p no:cacheprovider tests/bench/bench_monitor.py -q -s

Every scenario opens and closes a file ``OPS`` times at a stack depth like a
request handler's (the hook walks frames, so depth is what costs). The last
test prints each scenario against the no-hook baseline measured in the same
run (fastest round of each, the figure a busy machine disturbs least), and
fails when the hook adds more than ``BUDGET_US`` per audited event.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from dufflebag_harness.inside.worker import _monitor

OPS = 2000
DEPTH = 30
BUDGET_US = 5.0
ROUNDS = 40

_EXT = """
def at_depth(fn, depth):
    if depth:
        return at_depth(fn, depth - 1)
    return fn()

def opens(path, n):
    for _ in range(n):
        open(path, "rb").close()
"""

_FIGURES: dict[str, float] = {}

# Frames of code run by ``exec`` in a fresh namespace have no ``__file__``: the hook
# walks past them, as it walks past library frames, so this is its longest walk.
_TRANSPARENT: dict[str, Any] = {}
exec(_EXT, _TRANSPARENT)
_at_depth: Callable[[Callable[[], Any], int], Any] = _TRANSPARENT["at_depth"]


def _opens(path: str, n: int) -> None:
    for _ in range(n):
        open(path, "rb").close()


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("bench")
    for sub in ("ext/bench_ext_mon", "wtmp", "outside"):
        (base / sub).mkdir(parents=True)
    (base / "ext" / "bench_ext_mon" / "__init__.py").write_text(textwrap.dedent(_EXT))
    for where in ("wtmp", "outside"):
        (base / where / "data.bin").write_bytes(b"x")
    saved = tempfile.tempdir
    tempfile.tempdir = str(base / "wtmp")
    yield {"ext": str(base / "ext"), "temp_file": str(base / "wtmp" / "data.bin"),
           "outside_file": str(base / "outside" / "data.bin"), "code_file": os.__file__}
    tempfile.tempdir = saved


@pytest.fixture(scope="module")
def ext(paths: dict[str, str]) -> Iterator[ModuleType]:
    sys.path.append(paths["ext"])
    importlib.invalidate_caches()
    yield importlib.import_module("bench_ext_mon")
    sys.path.remove(paths["ext"])


def _measure(benchmark: Any, name: str, fn: Callable[[], Any]) -> None:
    benchmark.pedantic(fn, rounds=ROUNDS, iterations=1, warmup_rounds=2)
    # the minimum: on a shared machine it is the figure other processes disturb least
    _FIGURES[name] = benchmark.stats.stats.min / OPS * 1e6


def test_00_no_hook(benchmark: Any, paths: dict[str, str]) -> None:
    assert not _monitor._INSTALLED, "run bench_monitor.py in a pytest process of its own"
    _measure(benchmark, "no hook", lambda: _at_depth(
        lambda: _opens(paths["temp_file"], OPS), DEPTH))


def test_01_walk_to_host_code(benchmark: Any, paths: dict[str, str], ext: ModuleType) -> None:
    _monitor.install(_monitor.Monitor(roots=[paths["ext"]]))
    _measure(benchmark, f"not attributed, after walking {DEPTH} frames", lambda: _at_depth(
        lambda: _opens(paths["temp_file"], OPS), DEPTH))


def test_02_extension_allowed(benchmark: Any, paths: dict[str, str], ext: ModuleType) -> None:
    _measure(benchmark, "extension code, allowed path (resolved)", lambda: ext.at_depth(
        lambda: ext.opens(paths["temp_file"], OPS), DEPTH))


def test_03_extension_recorded(benchmark: Any, paths: dict[str, str], ext: ModuleType) -> None:
    _measure(benchmark, "extension code, recorded (counted)", lambda: ext.at_depth(
        lambda: ext.opens(paths["outside_file"], OPS), DEPTH))


def test_04_code_read(benchmark: Any, paths: dict[str, str], ext: ModuleType) -> None:
    _measure(benchmark, "extension reading stdlib code (filtered early)", lambda: ext.at_depth(
        lambda: ext.opens(paths["code_file"], OPS), DEPTH))


def test_99_report(paths: dict[str, str]) -> None:
    base = _FIGURES.get("no hook")
    assert base, "the no-hook baseline did not run in this process"
    lines = [f"{'scenario':52} {'us/op':>7} {'ratio':>6} {'added us':>9}"]
    over = {}
    for name, value in _FIGURES.items():
        added = value - base
        lines.append(f"{name:52} {value:7.2f} {value / base:6.2f} {added:9.2f}")
        if added > BUDGET_US:
            over[name] = round(added, 2)
    print("\n" + "\n".join(lines))
    assert not over, f"the hook adds more than {BUDGET_US} us per audited event: {over}"
