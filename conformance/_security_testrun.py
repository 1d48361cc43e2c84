"""Tampering with the harness's run of the extension's own tests, found statically.

The harness runs the extension's tests (coverage) with plugin autoload off and
its own options, but an artifact can still try: a ``pytest11`` entry point in
its packaging metadata (auto-loaded wherever the package is installed), a
``conftest.py`` or test module implementing hooks that rewrite outcomes
(``pytest_runtest_makereport`` and friends), ``pytest_plugins`` naming
plugins, pytest configuration that loads plugins with ``-p``, or test code that
takes over the end of the run without any hook (``atexit``, ``os._exit``,
``os.dup2`` over the console, reading ``sys.argv`` or naming the JUnit file).
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dufflebag_harness.conformance._security_static import Finding, source_files

__all__ = ["OUTCOME_HOOKS", "RUN_CONTROL_CALLS", "scan_test_tampering"]

#: Hooks that can change what a test run reports (result, status, exit code).
OUTCOME_HOOKS = frozenset({
    "pytest_runtest_makereport", "pytest_runtest_protocol", "pytest_runtest_call",
    "pytest_pyfunc_call", "pytest_report_teststatus", "pytest_runtest_logreport",
    "pytest_sessionfinish",
})
_ALLOWED_PLUGINS = frozenset({"dufflebag_harness.fixtures.plugin"})
_PLUGIN_OPTION = re.compile(r"(^|\s)-p\s*(?!no:)\S+")


def _entry_point_groups(data: Any, prefix: str = "") -> Iterator[str]:
    """Every key path in a TOML table mentioning ``pytest11``."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{prefix}.{key}" if prefix else str(key)
            if "pytest11" in str(key):
                yield here
            yield from _entry_point_groups(value, here)


def _packaging(root: Path) -> list[Finding]:
    out: list[Finding] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        for where in _entry_point_groups(data):
            out.append(Finding("pyproject.toml", 0, "pytest-plugin",
                               f"declares a pytest11 entry point ([{where}])"))
        opts = data.get("tool", {}).get("pytest", {}).get("ini_options", {})
        addopts = " ".join(opts.get("addopts", [])) if isinstance(
            opts.get("addopts"), list) else str(opts.get("addopts", ""))
        if _PLUGIN_OPTION.search(addopts):
            out.append(Finding("pyproject.toml", 0, "pytest-plugin",
                               f"pytest addopts load a plugin ({addopts[:80]})"))
    candidates = [root / "setup.cfg", root / "pytest.ini", root / "tox.ini",
                  *root.glob("*.dist-info/entry_points.txt"),
                  *root.glob("*.egg-info/entry_points.txt")]
    for path in candidates:
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(path.read_text("utf-8", "replace"))
        except configparser.Error:
            out.append(Finding(rel, 0, "unparsable", "cannot be parsed as INI"))
            continue
        for section in parser.sections():
            text = "\n".join([section, *parser[section].keys(), *parser[section].values()])
            if "pytest11" in text:
                out.append(Finding(rel, 0, "pytest-plugin",
                                   f"declares a pytest11 entry point ([{section}])"))
            addopts = parser[section].get("addopts", "")
            if section in ("pytest", "tool:pytest") and _PLUGIN_OPTION.search(addopts):
                out.append(Finding(rel, 0, "pytest-plugin",
                                   f"pytest addopts load a plugin ({addopts[:80]})"))
    setup = root / "setup.py"
    if setup.is_file() and "pytest11" in setup.read_text("utf-8", "replace"):
        out.append(Finding("setup.py", 0, "pytest-plugin", "declares a pytest11 entry point"))
    return out


def _plugins_named(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [str(e.value) for e in node.elts if isinstance(e, ast.Constant)]
    return ["<computed>"]


def _hooks(tree: ast.Module, rel: str) -> list[Finding]:
    out: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in OUTCOME_HOOKS:
            out.append(Finding(rel, node.lineno, "outcome-hook",
                               f"implements {node.name} (can rewrite test outcomes)"))
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets):
            extra = [p for p in _plugins_named(node.value) if p not in _ALLOWED_PLUGINS]
            if extra:
                out.append(Finding(rel, node.lineno, "pytest-plugin",
                                   f"pytest_plugins loads {', '.join(extra)}"))
    return out


#: Calls in test code that end the run on the test code's terms or reach the run's
#: own result files: what a ``conftest.py`` needs to rewrite the JUnit report after
#: pytest wrote it and force a passing exit code (no pytest hook involved).
RUN_CONTROL_CALLS = frozenset({
    ("os", "_exit"), ("os", "abort"), ("os", "dup2"), ("os", "closerange"),
    ("atexit", "register"), ("pytest", "exit"), ("signal", "signal"),
})


def _run_control(tree: ast.Module, rel: str) -> list[Finding]:
    """Test code that takes over how the run ends or reads where it reports."""
    out: list[Finding] = []
    modules = {m for m, _ in RUN_CONTROL_CALLS} | {"sys"}
    imported: dict[str, tuple[str, str]] = {}
    aliases: dict[str, str] = {}  # import os as o -> o: os
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in modules:
            for alias in node.names:
                if (node.module, alias.name) in RUN_CONTROL_CALLS:
                    imported[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    aliases[alias.asname or alias.name] = alias.name

    def _dotted(node: ast.expr) -> tuple[str, str] | None:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return aliases.get(node.value.id, node.value.id), node.attr
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name is None and isinstance(node.func, ast.Name):
                name = imported.get(node.func.id)
            if name in RUN_CONTROL_CALLS:
                out.append(Finding(rel, node.lineno, "run-control",
                                   f"calls {'.'.join(name)} (takes over how the test run "
                                   "ends or what it reports)"))
        elif isinstance(node, ast.Attribute) and node.attr == "pluginmanager":
            out.append(Finding(rel, node.lineno, "run-control",
                               "reaches pytest's plugin manager (can replace how the run "
                               "reports)"))
        elif isinstance(node, ast.Attribute) and _dotted(node) == ("sys", "argv"):
            out.append(Finding(rel, node.lineno, "run-control",
                               "reads sys.argv (the harness's command line, where the run "
                               "reports to)"))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and "junit" in node.value.lower()):
            out.append(Finding(rel, node.lineno, "run-control",
                               f"names the JUnit report ({node.value[:40]!r})"))
    return out


def scan_test_tampering(root: Path, test_paths: Sequence[str]) -> list[Finding]:
    """Findings for packaging metadata and every Python file (tests and package alike);
    calls that take over the run's end are looked for in test code."""
    findings = _packaging(root)
    for file in source_files(root, test_paths):
        try:
            tree = ast.parse(file.path.read_bytes(), filename=file.rel)
        except (SyntaxError, ValueError, OSError):
            continue  # SE-03 reports unparsable files
        findings.extend(_hooks(tree, file.rel))
        if file.is_test or file.rel.rsplit("/", 1)[-1] == "conftest.py":
            findings.extend(_run_control(tree, file.rel))
    return findings
