"""IS-10..12, PE and SE: how capability use is judged, what the static policies find,
and that tamper attempts end in a failed report the harness's signature still vouches for.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.conformance import load_checks, parse_pairs
from dufflebag_harness.conformance._security_bandit import run_bandit
from dufflebag_harness.conformance._security_capabilities import (
    covers_network,
    covers_path,
    undeclared,
    unused,
)
from dufflebag_harness.conformance._security_secrets import canary_config
from dufflebag_harness.conformance._security_static import scan_imports
from dufflebag_harness.conformance._security_testrun import scan_test_tampering
from dufflebag_harness.outside.loader import Capabilities, load_manifest
from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]
ROGUES = ROOT / "sample_extensions" / "rogues"


# -- judging observed capability use ------------------------------------------------
@pytest.mark.parametrize(("patterns", "target", "covered"), [
    (["api.example.org:443"], "api.example.org:443", True),
    (["api.example.org:443"], "api.example.org:80", False),
    (["API.Example.org:443"], "api.example.org:443", True),
    (["*.example.org"], "cdn.example.org:8443", True),
    (["*.example.org"], "example.org:443", False),
    (["api.example.org:443"], "api.example.org:*", True),  # a lookup of a declared host
    (["[::1]:*"], "[::1]:5432", True),
    (["127.0.0.1:8125"], "127.0.0.1:8126", False),
    (["unix:/run/app/*.sock"], "unix:/run/app/db.sock", True),
    ([], "127.0.0.1:8125", False),
])
def test_network_patterns(patterns: list[str], target: str, covered: bool) -> None:
    assert covers_network(patterns, target) is covered


@pytest.mark.parametrize(("prefixes", "path", "covered"), [
    (["/srv/data"], "/srv/data", True),
    (["/srv/data"], "/srv/data/x/y.csv", True),
    (["/srv/data/"], "/srv/data/x", True),
    (["/srv/data"], "/srv/database/x", False),
    (["/"], "/etc/passwd", True),
    ([], "/etc/passwd", False),
])
def test_filesystem_prefixes(prefixes: list[str], path: str, covered: bool) -> None:
    assert covers_path(prefixes, path) is covered


def test_each_kind_of_use_needs_its_own_declaration() -> None:
    records: list[dict[str, object]] = [
        {"kind": "file", "event": "open", "target": "/etc/passwd", "write": False,
         "where": "pkg/a.py:3"},
        {"kind": "file", "event": "open", "target": "/tmp/w/dbh-storage-1/me/x", "write": True,
         "storage_owner": "me"},
        {"kind": "file", "event": "open", "target": "/tmp/w/dbh-storage-1/other/x",
         "write": False, "storage_owner": "other"},
        {"kind": "network", "event": "socket.connect", "target": "api.example.org:443"},
        {"kind": "network", "event": "socket.getaddrinfo", "target": "leak.example.net:*"},
        {"kind": "subprocess", "event": "subprocess.Popen", "target": "convert in.png"},
        {"kind": "native", "event": "ctypes.dlopen", "target": "libc.so.6"},
    ]
    nothing = [r["reason"] for r in undeclared(records, "me", Capabilities())]
    assert len(nothing) == 6
    assert any("'other''s storage" in r for r in nothing)
    assert any(r.startswith("read /etc/passwd") for r in nothing)
    assert any(r.startswith("looked up leak.example.net") for r in nothing)
    declared = Capabilities(network=("api.example.org:443",), filesystem=("/etc",),
                            subprocess=True)
    left = [r["reason"] for r in undeclared(records, "me", declared)]
    assert len(left) == 3  # another's storage and ctypes are never declarable
    assert any("native code is not declarable" in r for r in left)
    assert any("leak.example.net" in r for r in left)


def test_declared_but_unused_lists_what_nothing_needed() -> None:
    caps = Capabilities(network=("api.example.org:443", "db.example.org:5432"),
                        filesystem=("/srv/in", "/srv/out"), subprocess=True)
    records = [{"kind": "network", "target": "api.example.org:443"},
               {"kind": "file", "target": "/srv/in/today.csv"}]
    assert unused(records, caps) == ["network: db.example.org:5432", "filesystem: /srv/out",
                                     "subprocess: true"]


# -- the import allow-list and tamper policy ----------------------------------------
def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _rules(root: Path, deps: tuple[str, ...] = ()) -> set[tuple[str, int, str]]:
    findings, _count = scan_imports(root, ["tests"], (), deps)
    return {(f.file, f.line, f.rule) for f in findings}


def test_allowed_imports_pass(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "mypkg/__init__.py": "from . import helpers\n",
        "mypkg/helpers.py": """
            \"\"\"Mentions GNUPGHOME in a docstring only.\"\"\"
            import json, os.path
            from dufflebag_harness import sdk
            from dufflebag_harness.sdk import Extension
            from mypkg import helpers as again
            import webhooks
            again.CACHE = {}
            """,
        "tests/test_x.py": ("import pytest\nimport jsonschema\n"
                            "from dufflebag_harness.fixtures import plugin\n"),
        "conftest.py": "import pytest\n",
    })
    assert _rules(root, deps=("webhooks",)) == set()


def test_each_forbidden_pattern_is_named_with_file_and_line(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", "mypkg/bad.py": """\
        import requests
        from dufflebag_harness.inside.host import Host
        import ctypes
        import pytest
        import gc, sys, json, builtins, importlib
        gc.get_objects()
        sys.modules["json"] = json
        importlib.import_module("x" + "y")
        exec("print(1)")
        json.dumps = repr
        setattr(json, "loads", repr)
        builtins.open = None
        __builtins__["open"] = None
        HOME = "~/.gnupg"
        sys.modules.pop("json")
        from gc import get_referrers
        x = __import__("os")
        sys.path.insert(0, "/tmp")
        """, "tests/test_y.py": "import coverage\n"})
    assert _rules(root) == {
        ("mypkg/bad.py", 1, "not-allowed-import"), ("mypkg/bad.py", 2, "forbidden-import"),
        ("mypkg/bad.py", 3, "forbidden-import"), ("mypkg/bad.py", 4, "forbidden-import"),
        ("mypkg/bad.py", 6, "tamper"), ("mypkg/bad.py", 7, "sys-modules"),
        ("mypkg/bad.py", 8, "tamper"), ("mypkg/bad.py", 9, "dynamic-code"),
        ("mypkg/bad.py", 10, "monkeypatch"), ("mypkg/bad.py", 11, "monkeypatch"),
        ("mypkg/bad.py", 12, "monkeypatch"), ("mypkg/bad.py", 13, "monkeypatch"),
        ("mypkg/bad.py", 14, "signing-secrets"), ("mypkg/bad.py", 15, "sys-modules"),
        ("mypkg/bad.py", 16, "tamper"), ("mypkg/bad.py", 17, "dynamic-code"),
        ("mypkg/bad.py", 18, "import-path"), ("tests/test_y.py", 1, "not-allowed-import"),
    }


def test_a_file_that_cannot_be_parsed_is_a_finding(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", "mypkg/old.py": "print 'py2'\n"})
    assert _rules(root) == {("mypkg/old.py", 1, "unparsable")}


# -- every file of the artifact, every spelling ----------------------------------------
def _lines(snippet: str, rel: str = "mypkg/m.py") -> set[tuple[int, str]]:
    """(line, rule) of the findings for one file holding ``snippet``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = _tree(Path(tmp), {"mypkg/__init__.py": "", rel: snippet})
        return {(line, rule) for file, line, rule in _rules(root) if file == rel}


@pytest.mark.parametrize("folder", ["build/lib/mypkg", "dist", ".venv/lib/python3.11/site-packages",
                                    "mypkg/__pycache__", ".hidden", "node_modules/x",
                                    "site-packages", "certification_old"])
def test_python_files_in_every_folder_are_scanned(tmp_path: Path, folder: str) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", f"{folder}/helpers.py": 'exec("1")\n'})
    assert _rules(root) == {(f"{folder}/helpers.py", 1, "dynamic-code")}


def test_tests_and_conftest_are_held_to_the_same_rules(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "mypkg/__init__.py": "",
        "conftest.py": "import sys\nsys.modules['json'] = None\n",
        "tests/test_x.py": "def test_x():\n    eval('1')\n",
    })
    assert _rules(root) == {("conftest.py", 2, "sys-modules"), ("tests/test_x.py", 2,
                                                                 "dynamic-code")}


@pytest.mark.parametrize(("snippet", "expected"), [
    pytest.param('e = exec\ne("1")\n', {(1, "dynamic-code"), (2, "dynamic-code")}, id="alias"),
    pytest.param('import builtins\nbuiltins.exec("1")\n', {(2, "dynamic-code")}, id="builtins."),
    pytest.param('import builtins as b\ngetattr(b, "exec")("1")\n', {(2, "dynamic-code")},
                 id="getattr-builtins"),
    pytest.param('__builtins__["exec"]("1")\n', {(1, "dynamic-code")}, id="__builtins__[]"),
    pytest.param('__builtins__.eval("1")\n', {(1, "dynamic-code")}, id="__builtins__."),
    pytest.param("from builtins import compile as c\n", {(1, "dynamic-code")}, id="from-import"),
    pytest.param('from re import compile\ncompile("x", "f", "exec")\n', {(2, "dynamic-code")},
                 id="module-binding-does-not-shadow"),
    pytest.param('if False:\n    exec = print\nexec("1")\n', {(3, "dynamic-code")},
                 id="conditional-shadow"),
    pytest.param('class A:\n    exec = print\n    exec("1")\n', {(3, "dynamic-code")},
                 id="class-binding-does-not-shadow"),
    pytest.param('def f(run=exec):\n    run("1")\n', {(1, "dynamic-code")},
                 id="default-is-evaluated-outside"),
    pytest.param('def f():\n    global eval\n    eval = 1\n    eval("1")\n', {(4, "dynamic-code")},
                 id="global-declared"),
    pytest.param("x = [exec(c) for c in CODES]\n", {(1, "dynamic-code")}, id="comprehension"),
    pytest.param('x = __import__("os")\n', {(1, "dynamic-code")}, id="__import__"),
    pytest.param('import marshal\nmarshal.loads(b"")\n', {(2, "dynamic-code")}, id="marshal"),
    pytest.param('import timeit\ntimeit.timeit("1")\n', {(2, "dynamic-code")}, id="timeit"),
    pytest.param("def f(g):\n    return g.__code__\n", {(2, "dynamic-code")}, id="__code__"),
    pytest.param("import code\n", {(1, "forbidden-import")}, id="code-module"),
    pytest.param('def f(compile):\n    return compile("x")\n', set(), id="parameter-shadows"),
    pytest.param('def f():\n    from re import compile\n    return compile("x")\n', set(),
                 id="function-import-shadows"),
    pytest.param('import re\nPATTERN = re.compile("x")\n', set(), id="re.compile"),
    pytest.param('async def f(db):\n    await db.execute("SELECT 1")\n', set(), id="execute"),
])
def test_dynamic_code_in_any_spelling(snippet: str, expected: set[tuple[int, str]]) -> None:
    assert _lines(snippet) == expected


@pytest.mark.parametrize(("snippet", "expected"), [
    pytest.param('import sys\ngetattr(sys, "mod" + "ules")\n', {(2, "dynamic-attr")},
                 id="computed-on-module"),
    pytest.param("def f(obj, name):\n    return getattr(obj, name)\n", {(2, "dynamic-attr")},
                 id="computed-on-argument"),
    pytest.param("import json\nsetattr(json, NAME, 1)\n", {(2, "dynamic-attr"),
                                                            (2, "monkeypatch")}, id="setattr"),
    pytest.param("def f(o, n):\n    delattr(o, n)\n", {(2, "dynamic-attr")}, id="delattr"),
    pytest.param("g = getattr\n", {(1, "dynamic-attr")}, id="alias"),
    pytest.param("def f(o, n):\n    object.__setattr__(o, n, 1)\n", {(2, "dynamic-attr")},
                 id="object.__setattr__"),
    pytest.param("def f(o, n):\n    return o.__getattribute__(n)\n", {(2, "dynamic-attr")},
                 id="__getattribute__"),
    pytest.param("import json\ndef f(n):\n    return vars(json)[n]\n", {(3, "dynamic-attr")},
                 id="vars[]"),
    pytest.param("class A:\n    def f(self, name):\n        return getattr(self, name)\n",
                 set(), id="own-self"),
    pytest.param("class A:\n    def f(self, n, v):\n        object.__setattr__(self, n, v)\n"
                 "        super().__setattr__(n, v)\n", set(), id="own-setattr"),
    pytest.param("def f(obj):\n    return getattr(obj, 'name', None)\n", set(), id="literal"),
    pytest.param("def handler(): ...\nHANDLERS = {}\ndef f(n):\n    return getattr(HANDLERS, n)\n",
                 set(), id="module-own-object"),
])
def test_getattr_family_with_computed_names(snippet: str, expected: set[tuple[int, str]]) -> None:
    assert _lines(snippet) == expected


@pytest.mark.parametrize("snippet", [
    "import sys\nsys._getframe(1)\n", "import inspect\ninspect.currentframe()\n",
    "import inspect\ninspect.stack()\n", "import traceback\ntraceback.walk_stack(None)\n",
    "from sys import _getframe\n", "x = FRAME.f_back\n", "x = FRAME.f_globals\n",
    "x = FRAME.f_locals\n", "x = TB.tb_frame\n", "x = GEN.gi_frame\n", "x = CORO.cr_frame\n",
    "x = FUNC.__globals__\n", "x = getattr(FRAME, 'f_locals')\n", "x = object.__subclasses__()\n",
])
def test_frame_access_is_found(snippet: str) -> None:
    assert (snippet.count("\n"), "frame-access") in _lines(snippet)


@pytest.mark.parametrize("snippet", [
    '__file__ = "/srv/app/real.py"\n', "__spec__ = None\n", "__loader__ = None\n",
    "__builtins__ = {}\n", 'globals()["__file__"] = "x"\n', "import json\njson.__file__ = 'x'\n",
    "def f(m):\n    m.__loader__ = None\n", 'NS = {"__file__": "<frozen>"}\n',
    'NS = dict(__file__="<frozen>")\n', "for __file__ in PATHS: pass\n",
    "def f(m):\n    setattr(m, '__spec__', None)\n", "import os as __file__\n",
])
def test_rewriting_where_code_came_from_is_found(snippet: str) -> None:
    assert (snippet.count("\n"), "fake-identity") in _lines(snippet)


@pytest.mark.parametrize(("snippet", "lines"), [
    pytest.param('import sys\nm = sys.modules\nm["json"] = None\n', {2, 3}, id="alias"),
    pytest.param("import sys\nsys.modules.update({})\n", {2}, id="update"),
    pytest.param('import sys\nsys.modules.setdefault("x", 1)\n', {2}, id="setdefault"),
    pytest.param('import sys\nsys.modules.pop("json")\n', {2}, id="pop"),
    pytest.param('import sys\ndel sys.modules["json"]\n', {2}, id="del"),
    pytest.param("from sys import modules as m\n", {1}, id="from-import"),
    pytest.param('import os\nos.sys.modules["json"] = None\n', {2}, id="os.sys"),
    pytest.param('import sys\ngetattr(sys, "modules")["json"] = None\n', {2}, id="getattr"),
    pytest.param('import sys\nvars(sys)["modules"]["json"] = None\n', {2}, id="vars"),
    pytest.param('__import__("sys").modules["json"] = None\n', {1}, id="__import__"),
    pytest.param('def f():\n    import sys\n    return sys.modules.get("x")\n', {3}, id="read"),
])
def test_sys_modules_in_any_spelling(snippet: str, lines: set[int]) -> None:
    assert {line for line, rule in _lines(snippet) if rule == "sys-modules"} == lines


@pytest.mark.parametrize(("snippet", "expected"), [
    pytest.param("import builtins\nbuiltins.open = None\n", (2, "monkeypatch"), id="assign"),
    pytest.param("import builtins\nsetattr(builtins, 'open', None)\n", (2, "monkeypatch"),
                 id="setattr"),
    pytest.param("import builtins\ndel builtins.open\n", (2, "monkeypatch"), id="del"),
    pytest.param("import builtins\nbuiltins.__dict__['open'] = None\n", (2, "builtins"),
                 id="__dict__"),
    pytest.param("import builtins\nvars(builtins).update(open=None)\n", (2, "builtins"),
                 id="vars"),
    pytest.param("import builtins\nb = builtins\n", (2, "builtins"), id="alias"),
    pytest.param("__builtins__['open'] = None\n", (1, "monkeypatch"), id="__builtins__[]"),
    pytest.param("register(__builtins__)\n", (1, "builtins"), id="handed-around"),
    pytest.param("import sys\nregister(sys)\n", (2, "tamper"), id="sys-handed-around"),
])
def test_builtins_are_read_one_name_at_a_time_and_never_written(
    snippet: str, expected: tuple[int, str]
) -> None:
    assert expected in _lines(snippet)


@pytest.mark.parametrize("snippet", [
    'import sys\nsys.path.insert(0, "build/lib")\n', 'import sys\nsys.path[:0] = ["build/lib"]\n',
    "import sys\nsys.path += ['x']\n", "import sys\np = sys.path\n",
    'import os\n__path__.append(os.path.join("build", "lib"))\n',
    "import site\nsite.addsitedir('vendor')\n",
    "import pkgutil\n__path__ = pkgutil.extend_path(__path__, __name__)\n",
    "import sys\nsys.meta_path.append(FINDER)\n",
])
def test_import_path_changes_are_found(snippet: str) -> None:
    assert (snippet.count("\n"), "import-path") in _lines(snippet)


@pytest.mark.parametrize(("rel", "rule"), [
    ("mypkg/_speedups.cpython-311-x86_64-linux-gnu.so", "native-code"),
    ("mypkg/_speedups.pyd", "native-code"), ("mypkg/libfast.dylib", "native-code"),
    ("mypkg/fast.dll", "native-code"), ("vendor/libz.so.1", "native-code"),
    (".venv/lib/python3.11/site-packages/zz_extension.pth", "pth-file"),
    ("mypkg/loader.pth", "pth-file"),
    ("sitecustomize.py", "startup-hook"), ("build/lib/usercustomize.py", "startup-hook"),
])
def test_files_refused_whatever_they_hold(tmp_path: Path, rel: str, rule: str) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", rel: "\n"})
    assert _rules(root) == {(rel, 0, rule)}


def test_a_python_link_is_scanned_as_what_it_points_to(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", "data/blob.txt": 'exec("1")\n'})
    os.symlink("../data/blob.txt", root / "mypkg" / "helpers.py")
    os.symlink("blob.txt", root / "data" / "boot.pth")
    assert _rules(root) == {("mypkg/helpers.py", 1, "dynamic-code"),
                            ("data/boot.pth", 0, "pth-file")}


# -- bytecode --------------------------------------------------------------------------------
SOURCE = 'X = {"a", "b"}\nEND = "]"\n\n\ndef f(x):\n    assert x in X, x\n    return x + END\n'


def _compile(root: Path, rel: str, **kwargs: Any) -> Path:
    cfile = kwargs.pop("cfile", None) or importlib.util.cache_from_source(
        str(root / rel), optimization=kwargs.get("optimize") or "")
    py_compile.compile(str(root / rel), cfile=str(cfile), doraise=True, **kwargs)
    return Path(cfile)


def _bytecode_rules(root: Path) -> set[tuple[str, str]]:
    return {(file, rule) for file, _line, rule in _rules(root)}


def test_caches_this_python_writes_pass(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", "mypkg/m.py": SOURCE,
                            "mypkg/legacy.py": SOURCE, "mypkg/moved.py": SOURCE,
                            "tests/test_m.py": "from mypkg.m import f\n\n\ndef test_f():\n"
                                               "    assert f('a') == 'a]'\n"})
    _compile(root, "mypkg/m.py")
    _compile(root, "mypkg/m.py", optimize=2)
    _compile(root, "mypkg/__init__.py",
             invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    _compile(root, "mypkg/legacy.py", cfile=root / "mypkg" / "legacy.pyc")
    _compile(root, "mypkg/moved.py", dfile="/home/someone/else/mypkg/moved.py")
    # An import and a pytest run in other processes (other interning, other hash seed).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import mypkg.m"], cwd=root, env=env, check=True)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "tests"], cwd=root, check=True, capture_output=True,
                   env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "7"})
    assert list((root / "tests" / "__pycache__").glob("*-pytest-*.pyc"))
    assert len(list(root.rglob("*.pyc"))) >= 6
    assert _bytecode_rules(root) == set()


def _cached(root: Path) -> Path:
    return Path(importlib.util.cache_from_source(str(root / "mypkg" / "m.py")))


def _pyc_of(root: Path, source: str, *, flags: int = 3, source_for_header: str = SOURCE,
            magic: bytes = importlib.util.MAGIC_NUMBER) -> bytes:
    code = compile(source, str(root / "mypkg" / "m.py"), "exec", dont_inherit=True)
    header = flags.to_bytes(4, "little")
    if flags & 1:
        header += importlib.util.source_hash(source_for_header.encode())
    else:
        header += (0).to_bytes(4, "little") + len(source_for_header.encode()).to_bytes(4, "little")
    return magic + header + marshal.dumps(code)


@pytest.mark.parametrize(("write", "rule"), [
    pytest.param(lambda r: (r / "mypkg" / "gone.pyc").write_bytes(b"\0" * 20),
                 "sourceless-bytecode", id="stray-pyc"),
    pytest.param(lambda r: _tree(r, {"mypkg/__pycache__/gone.cpython-311.pyc": "x"}),
                 "sourceless-bytecode", id="cache-without-source"),
    pytest.param(lambda r: _tree(r, {"mypkg/old.pyo": "x"}), "sourceless-bytecode",
                 id="pyo-without-source"),
    pytest.param(lambda r: _tree(r, {"mypkg/m.pyo": "x"}), "bytecode-mismatch",
                 id="pyo-with-source"),
    pytest.param(lambda r: _compile(r, "mypkg/m.py", invalidation_mode=(
        py_compile.PycInvalidationMode.UNCHECKED_HASH)), "bytecode-mismatch",
                 id="unchecked-hash"),
    pytest.param(lambda r: _cached(r).write_bytes(_pyc_of(r, "import os\n", flags=1)),
                 "bytecode-mismatch", id="unchecked-other-code"),
    pytest.param(lambda r: _cached(r).write_bytes(_pyc_of(r, SOURCE + "import os\n")),
                 "bytecode-mismatch", id="other-code-valid-header"),
    pytest.param(lambda r: _cached(r).write_bytes(_pyc_of(r, "import os\n", flags=0)),
                 "bytecode-mismatch", id="other-code-timestamp-header"),
    pytest.param(lambda r: _cached(r).write_bytes(_pyc_of(r, SOURCE, magic=b"\xcb\r\r\n")),
                 "bytecode-mismatch", id="other-python-magic"),
    pytest.param(lambda r: _tree(r, {"mypkg/__pycache__/m.cpython-312.pyc": "x"}),
                 "bytecode-mismatch", id="other-python-tag"),
    pytest.param(lambda r: _cached(r).write_bytes(_pyc_of(r, SOURCE)[:16] + b"\xe3garbage"),
                 "bytecode-mismatch", id="garbage-body"),
    pytest.param(lambda r: (_compile(r, "mypkg/m.py"), (r / "mypkg" / "m.py").write_text(
        SOURCE + "# edited\n")), "bytecode-mismatch", id="stale"),
])
def test_bytecode_that_is_not_this_pythons_cache_of_its_source_is_refused(
    tmp_path: Path, write: Any, rule: str,
) -> None:
    root = _tree(tmp_path, {"mypkg/__init__.py": "", "mypkg/m.py": SOURCE})
    (root / "mypkg" / "__pycache__").mkdir()
    write(root)
    found = _bytecode_rules(root)
    assert len(found) == 1 and next(iter(found))[1] == rule, found


#: Rogues that hid their fault from the old gate, and the rules that now name it.
HIDDEN = {
    "build_vendored": {"forbidden-import", "import-path"},  # build/lib/ first on __path__
    "sourceless_pyc": {"sourceless-bytecode"},  # a .pyc without source, imported first
    "encoded_exec": {"dynamic-attr", "fake-identity"},  # getattr(builtins, "ex" + "ec")
    "module_swap": {"dynamic-attr"},  # getattr(sys, "mod" + "ules")["json"] = shim
    "cache_inject": {"bytecode-mismatch"},  # unchecked-hash pyc in __pycache__
}


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_rogues_hiding_from_the_static_gate_are_named_for_what_they_hid(name: str) -> None:
    root = ROGUES / name
    findings, files = scan_imports(root, ["tests"])
    assert {f.rule for f in findings} == HIDDEN[name], [str(f) for f in findings]
    assert files == sum(1 for p in root.rglob("*") if p.is_file())


def test_sample_extensions_pass_with_the_caches_of_their_own_test_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in ("analytics", "webhooks"):
        root = tmp_path / name
        shutil.copytree(ROOT / "sample_extensions" / name, root)
        # What a local run leaves: pytest's rewritten tests, the package's import caches.
        subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only",
                        "-p", "no:cacheprovider", "-p", "dufflebag_harness.fixtures.plugin",
                        "tests"], cwd=root, check=True, capture_output=True,
                       env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        subprocess.run([sys.executable, "-c", f"import {name}.extension"], cwd=root, env=env,
                       check=True)
        assert list((root / name / "__pycache__").glob("*.pyc"))
        assert list((root / "tests" / "__pycache__").glob("*-pytest-*.pyc"))
        manifest = load_manifest(root)
        findings, files = scan_imports(root, manifest.tests.paths, manifest.tests.source)
        assert findings == []
        assert files == sum(1 for p in root.rglob("*") if p.is_file())


# -- tampering with the test run ------------------------------------------------------
def _tamper(root: Path) -> set[str]:
    return {f"{f.file}:{f.rule}" for f in scan_test_tampering(root, ["tests"])}


def test_pytest_plugins_and_outcome_hooks_are_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "pyproject.toml": '[project.entry-points.pytest11]\nx = "pkg.plugin"\n',
        "setup.cfg": "[options.entry_points]\npytest11 =\n    y = pkg.other\n",
        "pytest.ini": "[pytest]\naddopts = -q -p pkg.plugin\n",
        "tests/conftest.py": """
            pytest_plugins = ["dufflebag_harness.fixtures.plugin", "pkg.evil"]
            def pytest_runtest_makereport(item, call):
                pass
            """,
    })
    assert _tamper(root) == {"pyproject.toml:pytest-plugin", "setup.cfg:pytest-plugin",
                             "pytest.ini:pytest-plugin", "tests/conftest.py:pytest-plugin",
                             "tests/conftest.py:outcome-hook"}


def test_ordinary_pytest_configuration_is_fine(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "pytest.ini": "[pytest]\naddopts = -q -p no:cacheprovider\n",
        "tests/conftest.py": """
            pytest_plugins = ["dufflebag_harness.fixtures.plugin"]
            def pytest_collection_modifyitems(items):
                pass
            """,
    })
    assert _tamper(root) == set()


@pytest.mark.parametrize("code", [
    "import atexit\natexit.register(print)\n",
    "import atexit as _later\n_later.register(print)\n",
    "from os import _exit as leave\nleave(0)\n",
    "import os as o\no.dup2(3, 1)\n",
    "import sys as s\nREPORT = s.argv[-1]\n",
    "REPORT = 'results/JUnit.xml'\n",
    "import pytest\npytest.exit('done', returncode=0)\n",
    "def pytest_configure(config):\n    config.pluginmanager.unregister(name='terminal')\n",
])
def test_test_code_that_takes_over_the_end_of_the_run_is_found(tmp_path: Path,
                                                                code: str) -> None:
    root = _tree(tmp_path, {"tests/conftest.py": code, "pkg/__init__.py": code})
    # in test code only: the same calls in the package are not about the test run
    assert _tamper(root) == {"tests/conftest.py:run-control"}


# -- bandit, the harness's way ------------------------------------------------------------
def test_bandit_findings_cannot_be_suppressed_and_unreadable_files_are_errors(
    tmp_path: Path,
) -> None:
    root = _tree(tmp_path, {
        ".bandit": "[bandit]\nskips = B324\n",
        "pkg/__init__.py": "import hashlib\nDIGEST = hashlib.md5(b'k').hexdigest()  # nosec\n",
        "pkg/old.py": "print 'py2'\n",
        "tests/test_z.py": "import hashlib\nhashlib.md5(b'in a test')\n",
    })
    run = run_bandit(root, ["tests"])
    assert [(r["where"], r["test"]) for r in run.at("HIGH")] == [("pkg/__init__.py:2", "B324")]
    assert [e["file"] for e in run.errors] == ["pkg/old.py"]


def test_bandit_skips_nothing_of_its_own_accord(tmp_path: Path) -> None:
    # bandit's default exclusions (.tox, .eggs, .git, ...) match anywhere in the path: a root
    # under a folder so named, without a tests folder, used to be skipped whole.
    weak = "import hashlib\nDIGEST = hashlib.md5(b'k').hexdigest()\n"
    root = _tree(tmp_path / ".tox" / "ext", {"pkg/__init__.py": weak, ".eggs/helper.py": weak,
                                             "build/lib/pkg/x.py": weak})
    run = run_bandit(root, ["tests"])
    assert sorted(r["where"] for r in run.at("HIGH")) == [
        ".eggs/helper.py:2", "build/lib/pkg/x.py:2", "pkg/__init__.py:2"]


# -- planted secrets ------------------------------------------------------------------------
def test_secret_fields_get_canaries_their_schema_accepts() -> None:
    schema = {"type": "object", "properties": {
        "endpoint": {"type": "string"},
        "api_key": {"type": "string", "minLength": 40},
        "hook": {"type": "string", "writeOnly": True, "pattern": "^[0-9a-f]{32}$"},
        "nested": {"type": "object", "properties": {"db_password": {"maxLength": 10}}},
        "level": {"type": "string", "x-secret": True, "enum": ["a", "b"]},
        "token_count": {"type": "integer"},
    }}
    config, planted, skipped = canary_config(schema)
    assert set(planted) == {"api_key", "hook", "nested.db_password"}
    assert len(planted["api_key"]) >= 40
    assert len(planted["nested.db_password"]) <= 10
    assert config["nested"]["db_password"] == planted["nested.db_password"]
    assert skipped == ["level"]
    assert "endpoint" not in config


# -- certification: a good neighbour passes, tamper attempts end failed and signed ------------
AREAS = ("IS-1", "PE-", "SE-")


def _only(prefixes: tuple[str, ...]) -> list[str]:
    return sorted({s.id for s in load_checks() if s.id.startswith(prefixes)} | {"LC-01"})


@pytest.mark.slow  # the harness waits out a two-requests-a-second quota
def test_a_well_behaved_extension_with_a_rate_limit_passes(tmp_path: Path) -> None:
    from dufflebag_harness.outside.runner.companions import make_companion

    root = make_companion("limited", tmp_path / "src")
    manifest = root / "extension.toml"
    manifest.write_text(manifest.read_text() + "\n[quotas]\nrequests_per_second = 5\n")
    outcome = certify(CertifyOptions(path=root, out=tmp_path / "out", profile="quick",
                                     only=_only(AREAS), seed=3))
    bad = {f"{r['check']}: {r['reason']}" for r in outcome.report["results"]
           if r["severity"] == "required" and r["status"] in ("fail", "error")}
    assert bad == set()
    ran = {r["check"] for r in outcome.report["results"] if r["status"] == "pass"}
    assert {"IS-10", "IS-11", "IS-12", "PE-01", "PE-03", "PE-04", "SE-03", "SE-04"} <= ran
    figures = outcome.report["figures"]  # the limits were really reached, and held
    assert figures["rate_limit"]["limited_429"] > 0
    assert figures["concurrency_limit"]["refused_503"] > 0
    assert figures["request_timeout"]["answered_504"] == figures["request_timeout"]["requests"]


TAMPER = {"key_snoop": ("IS-1", "SE-"), "result_patch": ("IS-1", "SE-"),
          "pytest_plugin": ("SE-", "CV-")}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tamper_rogues_end_failed_in_a_report_the_signature_still_vouches_for(
    name: str, tmp_path: Path, private_gnupghome: Path,
) -> None:
    from dufflebag_harness.reports.keys import export_keys
    from dufflebag_harness.reports.verify import VerifyExit, verify

    rogue = ROGUES / name
    expected = parse_pairs(tomllib.loads((rogue / "expect.toml").read_text())["fails"],
                           load_checks().as_dict())
    outcome = certify(CertifyOptions(path=rogue, out=tmp_path / "out", profile="quick",
                                     only=_only(TAMPER[name]), seed=5))
    results = {f"{r['check']}@{r['backend']}": r for r in outcome.report["results"]}
    failed = {pair for pair, r in results.items()
              if r["severity"] == "required" and r["status"] in ("fail", "error")}
    assert outcome.level == "failed"
    assert expected <= failed
    # at least one failure the extension cannot have written itself: judged outside the
    # worker (SE-07 compares what the worker reports of itself, and says so)
    assert [p for p in expected if p.startswith("SE-") and not results[p]["self_reported"]]
    assert all(results[p]["self_reported"] == (p.startswith("SE-07"))
               for p in expected if p.startswith("SE-"))
    if name == "result_patch":  # the forged monitor report fooled IS-10, and says so
        assert results["IS-10@sqlite"]["self_reported"] is True
    keyring = tmp_path / "trusted.asc"
    keyring.write_text(export_keys(home=private_gnupghome))
    report_file = outcome.out_dir / "report.json"
    checked = verify(report_file, keyring, require_level="provisional")
    assert checked.code == VerifyExit.LEVEL_BELOW, checked.sentence
    assert checked.report is not None
    assert checked.report == json.loads(report_file.read_text())
    assert checked.report["level"] == "failed"
    flipped = tmp_path / "flipped.json"
    flipped.write_bytes(report_file.read_bytes().replace(b'"failed"', b'"certified"', 1))
    shutil.copy(f"{report_file}.asc", f"{flipped}.asc")
    assert verify(flipped, keyring, require_level="provisional").code == 10
