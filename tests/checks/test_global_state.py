"""SE-07: a module the extension does not own, changed by any means, is named; a module
whose own state merely changed as it was used is not.

The fingerprints are compared the way the check compares the extension's worker with
the clean reference worker: one description before (clean), one after (changed).
"""

from __future__ import annotations

import shutil
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dufflebag_harness.conformance._security_globals import attribute_differences, header_problem
from dufflebag_harness.inside.worker._globals_probes import describe_module
from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]

LIBRARY = '''
"""A stand-in for a library module the extension does not own."""
import functools

_cache = {}
counter = 0
handlers = []


def encode(value):
    return str(value)


def other(value):
    return repr(value)


@functools.lru_cache(maxsize=None)
def cached(value):
    return value * 2


class Client:
    timeout = 5

    def request(self, url):
        return "GET " + url

    @staticmethod
    def build(url):
        return url

    @property
    def name(self):
        return "client"


def __getattr__(name):
    if name == "lazy_helper":
        def lazy_helper():
            return "lazy"
        globals()[name] = lazy_helper
        return lazy_helper
    raise AttributeError(name)
'''


@pytest.fixture
def library() -> Iterator[Callable[[], types.ModuleType]]:
    """A fresh copy of the stand-in module per call (each call is "another process")."""
    def make() -> types.ModuleType:
        module = types.ModuleType("dbh_test_library")
        module.__file__ = "/lib/dbh_test_library.py"
        exec(compile(LIBRARY, "/lib/dbh_test_library.py", "exec"), vars(module))
        return module
    yield make


def _changes(clean: types.ModuleType, now: types.ModuleType) -> list[str]:
    return [str(d) for d in attribute_differences(
        "dbh_test_library", describe_module("dbh_test_library", clean),
        describe_module("dbh_test_library", now))]


def test_a_clean_copy_matches(library: Callable[[], types.ModuleType]) -> None:
    assert _changes(library(), library()) == []


def test_state_a_library_changes_itself_is_not_a_change(
        library: Callable[[], types.ModuleType]) -> None:
    now = library()
    now._cache["k"] = object()
    now.counter = 41
    now.handlers.append(print)
    now.cached(3)
    now.Client.timeout = 30
    now._last = {"state": 1}
    now.lazy_helper()  # set by the module's own __getattr__
    clean = library()
    clean.lazy_helper()  # what the check's clean worker does for names the other one has
    assert _changes(clean, now) == []


@pytest.mark.parametrize(("change", "named"), [
    ("vars(m).update(encode=lambda value: 'x')", "dbh_test_library.encode was replaced"),
    ("setattr(m, 'enc' + 'ode', m.other)", "dbh_test_library.encode was replaced"),
    ("m.encode.__code__ = m.other.__code__", "dbh_test_library.encode was replaced"),
    ("m.encode.__defaults__ = ('x',)", "dbh_test_library.encode was replaced"),
    ("m.Client.request = lambda self, url: 'POST ' + url",
     "dbh_test_library.Client.request was replaced"),
    ("m.Client.build = staticmethod(lambda url: url + '?')",
     "dbh_test_library.Client.build was replaced"),
    ("m.Client.name = property(lambda self: 'x')", "dbh_test_library.Client.name was replaced"),
    ("m.encode = None", "dbh_test_library.encode is gone or no longer code"),
    ("del m.other", "dbh_test_library.other is gone or no longer code"),
    ("m.sneaky = print", "dbh_test_library.sneaky was added"),
    ("m.cached = m.other", "dbh_test_library.cached was replaced"),
])
def test_every_way_of_changing_code_is_named(library: Callable[[], types.ModuleType],
                                             change: str, named: str) -> None:
    now = library()
    exec(change, {"m": now})
    found = _changes(library(), now)
    assert len(found) == 1, found
    assert found[0].startswith(named), found


def test_a_swapped_module_and_a_foreign_copy_are_told_apart() -> None:
    clean = "type=builtins.module name=json file=/usr/lib/python3.11/json/__init__.py"
    assert header_problem(clean, clean, "/ext") is None
    assert header_problem(clean, "type=shim.CountingJSON name=json file=None", "/ext") == "swapped"
    assert header_problem(clean, "type=builtins.module name=json file=/ext/json/__init__.py",
                          "/ext") == "swapped"
    assert header_problem(clean, "type=builtins.module name=json file=/venv/json/__init__.py",
                          "/ext") == "other_file"


# -- end to end: the check on a worker --------------------------------------------------
PATCHERS = {
    # a class method of the standard library replaced through a helper
    "http.client.HTTPConnection.request": '''
        import http.client

        def _wrap(cls, name):
            original = cls.__dict__[name]

            def traced(self, *args, **kwargs):
                return original(self, *args, **kwargs)

            type.__setattr__(cls, name, traced)

        _wrap(http.client.HTTPConnection, "request")
    ''',
    # a function's code swapped: the object is the same, what it runs is not
    "base64.b64encode": '''
        import base64

        def _quiet(s, altchars=None):
            return b""

        def _adopt(fn, code_of):
            fn.__code__ = code_of.__code__

        _adopt(base64.b64encode, _quiet)
    ''',
}


@pytest.mark.parametrize("target", sorted(PATCHERS))
def test_a_patched_library_fails_se07_naming_it(tmp_path: Path, target: str) -> None:
    root = tmp_path / "patcher"
    shutil.copytree(ROOT / "sample_extensions" / "rogues" / "json_compat", root)
    (root / "rogue_json_compat" / "_compat.py").write_text(
        textwrap.dedent(PATCHERS[target]) + "\n\ndef install() -> None:\n    pass\n")
    outcome = certify(CertifyOptions(path=root, out=tmp_path / "out", profile="quick",
                                     only=["SE-07"], seed=7))
    [result] = [r for r in outcome.report["results"] if r["check"] == "SE-07"]
    assert result["status"] == "fail", result
    named = {f"{c['module']}.{c['attribute']}" for c in result["evidence"]["changes"]}
    assert target in named, result["evidence"]


def test_the_sample_extensions_pass_se07(tmp_path: Path) -> None:
    for name in ("analytics", "webhooks"):
        outcome = certify(CertifyOptions(path=ROOT / "sample_extensions" / name,
                                         out=tmp_path / name, profile="quick",
                                         only=["SE-07"], seed=7))
        [result] = [r for r in outcome.report["results"] if r["check"] == "SE-07"]
        assert result["status"] == "pass", result
        assert result["evidence"] == {} or "changes" not in result["evidence"]
