"""IS-10..12, PE and SE: how capability use is judged, what the static policies find,
and that tamper attempts end in a failed report the harness's signature still vouches for.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import tomllib
from pathlib import Path

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
from dufflebag_harness.outside.loader import Capabilities
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
    assert all(not results[p]["self_reported"] for p in expected if p.startswith("SE-"))
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
