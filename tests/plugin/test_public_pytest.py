"""The pytest plugin uses only pytest's public API: nothing of ours imports ``_pytest``."""

from __future__ import annotations

import ast
from pathlib import Path

import dufflebag_harness.fixtures

FIXTURES = Path(dufflebag_harness.fixtures.__file__).resolve().parent


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in
              ("import_module", "__import__", "importorskip")
              and node.args and isinstance(node.args[0], ast.Constant)):
            names.append(str(node.args[0].value))
    return names


def test_the_plugin_package_never_imports_private_pytest() -> None:
    modules = sorted(FIXTURES.glob("*.py"))
    assert any(m.name == "plugin.py" for m in modules)
    private = {
        f"{m.name}: {name}"
        for m in modules
        for name in _imported(ast.parse(m.read_text(encoding="utf-8")))
        if name == "_pytest" or name.startswith("_pytest.")
    }
    assert not private, f"private pytest modules imported: {sorted(private)}"
