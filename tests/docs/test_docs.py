"""The docs: the checker finds what rots, the pages pass it, examples run, errors are listed."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from _cli import ROOT

DOCS = ROOT / "docs"
pytest_plugins = ["pytester"]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_docs", DOCS / "check_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_docs"] = module
    spec.loader.exec_module(module)
    return module


check_docs = _checker()


def test_the_docs_pass_their_own_check() -> None:
    assert [str(p) for p in check_docs.check(DOCS)] == []


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "README.md").write_text("# Index\n\n" + "".join(
        f"- [{name}]({name})\n" for name in pages if name != "README.md"))
    for name, text in pages.items():
        (docs / name).write_text(text)
    return docs


@pytest.mark.parametrize(("text", "says"), [
    ("See [gone](missing.md).\n", "link 'missing.md': missing.md does not exist"),
    ("# Title\n\nSee [x](#nowhere).\n", "link '#nowhere': no heading #nowhere in page.md"),
    ("Run `dufflebag-cert certfy x`.\n", "no command 'certfy'"),
    ("```sh\ndufflebag-cert keys rotate\n```\n", "no command 'keys rotate'"),
    ("```sh\ndufflebag-cert certify . --fast\n```\n",
     "'dufflebag-cert certify' has no option --fast"),
    ("`dufflebag-cert verify r.json --keyring k --level x`\n", "has no option --level"),
    ("Run `nox -s docz`.\n", "nox has no session 'docz'"),
    ("```python\ndef broken(:\n```\n", "python block does not parse: SyntaxError"),
    ("```toml\n[a\n```\n", "toml block does not parse"),
])
def test_the_checker_finds_what_rots(tmp_path: Path, text: str, says: str) -> None:
    problems = [str(p) for p in check_docs.check(_site(tmp_path, {"page.md": text}))]
    assert len(problems) == 1 and says in problems[0], problems
    assert problems[0].startswith("docs/page.md:")


def test_the_checker_accepts_real_commands_anchors_and_sessions(tmp_path: Path) -> None:
    text = ("# Some `Title`: here\n\nSee [t](#some-title-here) and [i](README.md#index).\n\n"
            "```sh\ndufflebag-cert certify <path> --profile quick --only LC-01 \\\n"
            "    --out x\nfpr=$(dufflebag-cert keys init --expire 1y)\n```\n\n"
            "`dufflebag-cert verify R --keyring K --require-level provisional`, `nox -s tests`\n")
    assert check_docs.check(_site(tmp_path, {"page.md": text})) == []


def test_an_unlinked_page_is_reported(tmp_path: Path) -> None:
    docs = _site(tmp_path, {})
    (docs / "orphan.md").write_text("# Orphan\n")
    assert [str(p) for p in check_docs.check(docs)] == [
        "docs/orphan.md:1: not reachable from README.md"]


def test_the_plugin_tour_runs_as_documented(pytester: pytest.Pytester) -> None:
    from dufflebag_harness.outside.scaffold import scaffold

    [(name, code)] = check_docs.examples(DOCS / "pytest-plugin.md").items()
    assert name == "tests/test_tour.py"
    root = pytester.path / "hello"
    scaffold("hello", root)
    (root / name).write_text(code)
    pytester._monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester._monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess("-p", "dufflebag_harness.fixtures.plugin",
                                           "-p", "no:cacheprovider",
                                           "--dufflebag-backends=sqlite", str(root / name))
    tests = len(re.findall(r"^(?:async )?def test_", code, re.M))
    assert tests >= 8
    result.assert_outcomes(passed=tests)


# -- every error the CLI prints is in troubleshooting.md ---------------------------------
#: Where the messages `dufflebag-cert` prints are made.
SOURCES = [
    "harness/outside/runner/certify.py", "harness/outside/runner/backends.py",
    "harness/outside/cli/_certify.py", "harness/outside/cli/_sign.py",
    "harness/outside/cli/_verify.py", "harness/outside/cli/_keys.py", "harness/outside/cli/_new.py",
    "harness/outside/cli/_main.py", "harness/outside/scaffold/_writer.py",
    "harness/outside/loader/manifest.py",
    "harness/outside/loader/_structure.py", "harness/outside/loader/digest.py",
    "harness/outside/loader/materialize.py", "harness/outside/loader/_archives.py",
    "harness/outside/loader/_tree.py",
    "reports/verify.py", "reports/keys.py", "reports/signing.py", "reports/_gpg.py",
    "reports/outputs.py", "reports/bundle.py", "reports/catalogs.py",
    "harness/outside/environments/build.py",
    "harness/outside/environments/prepare.py", "harness/outside/environments/policy.py",
    "harness/outside/environments/vulns.py", "harness/outside/environments/sdists.py",
    "fixtures/plugin.py", "fixtures/_discovery.py",
]
_RAISED = {"BadInput", "InternalError", "ArtifactError", "SigningError", "ScaffoldError",
           "GnupgHomeTooLong", "ExtensionNotFound", "BackendUnavailable", "OutputError",
           "BundleRefused", "CatalogUnreadable", "_refuse", "DependencyError"}


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "\0"
                       for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (_text(node.left) or "\0") + (_text(node.right) or "\0")
    return None


def messages(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each error message made in ``source`` (placeholders as NUL)."""
    out = []
    for node in ast.walk(ast.parse((ROOT / source).read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        args = node.args
        text = None
        if name in _RAISED and args:
            text = _text(args[0])
        elif name in ("_Reject", "fail") and len(args) >= 2:  # verify; the manifest builder
            text = _text(args[1])
        elif name == "fail" and args:  # pytest.fail in the plugin
            text = _text(args[0])
        elif name == "echo" and args and (t := _text(args[0])) and "error" in t:
            text = t
        if text:
            out.append((node.lineno, text))
    for fdef in ast.walk(ast.parse((ROOT / source).read_text())):  # def …_message(): return …
        if isinstance(fdef, ast.FunctionDef) and fdef.name.endswith("_message"):
            out += [(n.lineno, t) for n in ast.walk(fdef)
                    if isinstance(n, ast.Return) and n.value and (t := _text(n.value))]
    for pair in ast.walk(ast.parse((ROOT / source).read_text())):  # (field, message) pairs
        if isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and source.endswith(
                ("_structure.py", "manifest.py")):
            text = _text(pair.elts[1])
            if text and " " in text:
                out.append((pair.lineno, text))
    return out


def fragment(message: str) -> str:
    """The longest fixed part of a message, trimmed of punctuation at its ends."""
    parts = [p.strip(" :;,.()'\"") for p in message.split("\0")]
    return max(parts, key=len)


@pytest.mark.parametrize("source", SOURCES)
def test_every_error_message_is_in_troubleshooting(source: str) -> None:
    guide = (DOCS / "troubleshooting.md").read_text()
    found = messages(source)
    assert found, f"{source}: no error messages found (moved?)"
    missing = [f"{source}:{line}: {fragment(text)!r}" for line, text in found
               if len(fragment(text)) >= 8 and fragment(text) not in guide]
    assert missing == [], "\n".join(missing)


def test_message_extraction_sees_fstrings_and_pairs() -> None:
    found = dict(messages("harness/outside/loader/manifest.py"))
    texts = set(found.values())
    assert "\0 is not a semantic version" in texts
    assert "no such file" in texts
    assert fragment("\0: member \0 is not a regular file") == "is not a regular file"
    assert os.path.basename(__file__) == "test_docs.py"


@pytest.mark.slow
def test_the_webhooks_extension_certifies_as_the_docs_say(tmp_path: Path) -> None:
    """docs/README.md: both sample extensions certify (analytics: test_end_to_end.py)."""
    import json

    from _cli import assert_certified, run_cli

    out = tmp_path / "webhooks"
    result = run_cli("certify", str(ROOT / "sample_extensions" / "webhooks"), "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    assert_certified(result.returncode, report, result.stdout + result.stderr)
    assert [w["check"] for w in report["waivers"] if w["applied"]] == ["PE-02"]
