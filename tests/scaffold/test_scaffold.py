"""``dufflebag-cert new``: what an author gets, what is refused, and that it certifies."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from _cli import ROOT, run_cli
from click.testing import CliRunner

from dufflebag_harness.outside.cli import cli
from dufflebag_harness.outside.loader import load_manifest
from dufflebag_harness.outside.scaffold import ScaffoldError, class_name_for, render, scaffold

LAYOUT = ["README.md", "extension.toml", "pytest.ini", "{n}/__init__.py", "{n}/extension.py",
          "tests/test_{n}.py"]


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_new_writes_the_documented_layout(tmp_path: Path) -> None:
    result = run_cli("new", "page_stats", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "page_stats"
    assert _tree(root) == sorted(f.format(n="page_stats") for f in LAYOUT)
    manifest = load_manifest(root)
    assert (manifest.name, str(manifest.entry)) == (
        "page_stats", "page_stats.extension:PageStats")
    assert manifest.tests.source == ("page_stats",)
    assert "dufflebag-cert certify ." in result.stdout
    code = (root / "page_stats" / "extension.py").read_text()
    assert "class PageStats(Extension)" in code and "{{" not in code


def test_dir_option_names_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "work" / "elsewhere"
    result = run_cli("new", "hello", "--dir", str(target))
    assert result.returncode == 0, result.stderr
    assert _tree(target) == sorted(f.format(n="hello") for f in LAYOUT)


def test_an_existing_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "hello").mkdir()
    assert run_cli("new", "hello", cwd=tmp_path).returncode == 0
    assert (tmp_path / "hello" / "extension.toml").is_file()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Hello", "must match ^[a-z][a-z0-9_]{1,30}$"),
        ("a", "must match"),
        ("1st", "must match"),
        ("x" * 32, "must match"),
        ("my-ext", "must match"),
        ("json", "is reserved"),
        ("dufflebag_harness", "is reserved"),
        ("pytest", "is reserved"),
        ("starlette", "is reserved"),
        ("tests", "is reserved"),
        ("class", "Python keyword"),
    ],
)
def test_invalid_names_are_refused_with_the_rule(tmp_path: Path, name: str, says: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new", name])
    assert result.exit_code == 2
    assert says in result.stderr and name in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "hello"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    result = run_cli("new", "hello", cwd=tmp_path)
    assert result.returncode == 2
    assert "not empty" in result.stderr and str(target) in result.stderr
    assert _tree(target) == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello"]


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hello").write_text("a file")
    result = run_cli("new", "hello", cwd=tmp_path)
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = Path.write_text
    written: list[Path] = []

    def failing(self: Path, data: str, *args: object, **kwargs: object) -> int:
        if written:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real(self, data, "utf-8")

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(OSError, match="No space left"):
        scaffold("hello", tmp_path / "hello")
    assert written, "the first file was written before the failure"
    assert list(tmp_path.iterdir()) == []


def test_a_target_that_appears_meanwhile_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "hello"
    real = Path.write_text

    def racing(self: Path, data: str, *args: object, **kwargs: object) -> int:
        if not target.exists():
            target.mkdir()
            (target / "theirs.txt").write_bytes(b"x")
        return real(self, data, "utf-8")

    monkeypatch.setattr(Path, "write_text", racing)
    with pytest.raises(ScaffoldError, match="not empty"):
        scaffold("hello", target)
    assert _tree(target) == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello"]


def test_class_names_and_placeholders() -> None:
    assert class_name_for("page_stats") == "PageStats"
    assert class_name_for("ab") == "Ab"
    assert class_name_for("a__b_") == "AB"
    assert render("x = {{ name }}; {{class_name}}", {"name": "n", "class_name": "N"}) == "x = n; N"
    with pytest.raises(KeyError, match="version"):
        render("{{version}}", {"name": "n"})


def _own_tests(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "dufflebag_harness.fixtures.plugin",
         "-p", "no:cacheprovider",
         "-q", "tests"], cwd=root, env=env, capture_output=True, text=True, timeout=300,
        check=False)


def test_generated_tests_pass_and_catch_a_broken_route(tmp_path: Path) -> None:
    root = tmp_path / "notes_app"
    scaffold("notes_app", root)
    ok = _own_tests(root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert " passed" in ok.stdout and "failed" not in ok.stdout
    module = root / "notes_app" / "extension.py"
    module.write_text(module.read_text().replace('"text": text,', '"text": text.upper(),'))
    broken = _own_tests(root)
    assert broken.returncode == 1, broken.stdout


# From ``new`` to a certified report: tests/runner/test_trust_boundary.py, which looks at
# what the certifying process imported on the way.


# -- every instruction the generated project gives works as written ---------------------
#: pytest plugins of the harness's own tools, which an author's session must not load.
KEPT_OUT = ("locust", "schemathesis", "hypothesis")


def _commands(text: str) -> list[str]:
    """Every ``python -m pytest ...`` command in ``text`` (code blocks and inline code)."""
    found = re.findall(r"^(python -m pytest[^#\n]*?)\s*(?:#.*)?$", text, re.M)
    found += re.findall(r"`((?:PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 )?python -m pytest[^`]*)`", text)
    return list(dict.fromkeys(c.strip() for c in found))


def _run_as_written(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    while "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[:3] == ["python", "-m", "pytest"], command
    return subprocess.run([sys.executable, *words[1:], "-p", "no:cacheprovider"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow  # one pytest session per documented command
def test_the_generated_instructions_work_as_written(tmp_path: Path) -> None:
    """Every pytest command the generated README, the generated tests' docstring and
    docs/pytest-plugin.md give, run as written in the generated project."""
    assert run_cli("new", "notes_app", cwd=tmp_path).returncode == 0
    root = tmp_path / "notes_app"
    readme = (root / "README.md").read_text()
    docstring = ast.get_docstring(ast.parse((root / "tests" / "test_notes_app.py").read_text()))
    assert docstring and "-p fixtures.plugin" not in docstring
    plugin_doc = (ROOT / "docs" / "pytest-plugin.md").read_text()
    commands = list(dict.fromkeys(
        _commands(readme) + _commands(docstring.replace("`", "\n")) + _commands(plugin_doc)))
    assert {"python -m pytest -q", "python -m pytest --fixtures",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -p dufflebag -q",
            "python -m pytest -q --dufflebag-backends=sqlite",
            "python -m pytest tests",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -p dufflebag tests",
            "python -m pytest -p hypothesispytest tests"} <= set(commands), commands
    for command in commands:
        result = _run_as_written(command, root)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command}:\n{output}"
        assert "already registered" not in output, command
        if "--fixtures" in command:
            assert "dufflebag_client -- " in result.stdout and "``HostClient``" in result.stdout
        else:
            assert re.search(r"\d+ passed", result.stdout) and "failed" not in result.stdout, \
                f"{command}:\n{output}"


def test_the_harness_tools_pytest_plugins_stay_out_of_a_generated_project(
        tmp_path: Path) -> None:
    assert run_cli("new", "notes_app", cwd=tmp_path).returncode == 0
    root = tmp_path / "notes_app"
    result = _run_as_written("python -m pytest --trace-config -q --dufflebag-backends=sqlite",
                             root)
    assert result.returncode == 0, result.stdout + result.stderr
    registered = [line for line in result.stdout.splitlines()
                  if line.startswith("PLUGIN registered")]
    assert any("dufflebag_harness.fixtures.plugin" in line for line in registered)
    for tool in KEPT_OUT:
        assert not [line for line in registered if tool in line], tool
    header = _run_as_written("python -m pytest --co -q tests", root)
    plugins = re.search(r"^plugins: (.*)$", header.stdout, re.M)
    assert plugins is None or not any(t in plugins.group(1) for t in KEPT_OUT)
    asked = _run_as_written("python -m pytest -p hypothesispytest --trace-config --co -q", root)
    assert "_hypothesis_pytestplugin" in asked.stdout, "a plugin named with -p must load"
