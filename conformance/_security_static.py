"""The import allow-list and tamper policy, read from the source with ``ast`` (parent side).

Nothing here imports or runs extension code. Allowed imports: the standard
library (``sys.stdlib_module_names``), the extension's own top-level packages,
packages named like the extensions it declares as dependencies, and
``dufflebag_harness.sdk``; test code (``[tests].paths``, any ``conftest.py``) may also
import ``pytest``, ``dufflebag_harness.fixtures`` and the libraries the harness itself runs on
(test code only ever runs in the harness's environment, where exactly those
are installed) except the ones that judge it (coverage, bandit, gnupg).
Third-party libraries in shipped code are not supported yet. Forbidden
whatever the list says: harness internals (all of ``dufflebag_harness`` but the SDK),
``_pytest``, ``ctypes``, ``gc`` object walks, ``sys.modules`` writes,
``importlib`` tricks and ``__import__``, dynamic code (``exec``, ``eval``,
``compile``), assignments to (or ``setattr`` on) attributes of imported
modules and objects (monkeypatching someone else's code), ``builtins``
writes, trace/profile/audit hooks, and references to the harness's signing
secrets.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dufflebag_harness.outside.loader import RESERVED_TOP_LEVEL

__all__ = [
    "TEST_LIBRARIES", "Finding", "SourceFile", "own_packages", "scan_imports", "source_files",
]

_SKIP_DIRS = frozenset({"__pycache__", "build", "dist", "node_modules", "site-packages"})
_STDLIB = frozenset(sys.stdlib_module_names)
_FORBIDDEN_MODULES = {
    "ctypes": "ctypes (native code)", "_ctypes": "ctypes (native code)",
    "_pytest": "pytest internals", "imp": "import machinery", "runpy": "running code by path",
    "zipimport": "import machinery", "importlib.machinery": "import machinery",
}
_TEST_ONLY = frozenset({"pytest", "dufflebag_harness.fixtures"})
_SDK = "dufflebag_harness.sdk"
#: Libraries of the harness's own environment that test code may use (not its judges).
TEST_LIBRARIES = frozenset(
    RESERVED_TOP_LEVEL - _STDLIB - {"dufflebag_harness", "_pytest", "pytest", "pluggy",
                                    "coverage", "bandit", "gnupg"})
_TAMPER_ATTRS = {
    ("gc", "get_objects"): "walks every object in the process",
    ("gc", "get_referrers"): "walks objects that refer to others",
    ("gc", "get_referents"): "walks objects' references",
    ("importlib", "import_module"): "imports by computed name",
    ("importlib", "reload"): "reloads modules",
    ("importlib", "__import__"): "imports by computed name",
    ("importlib.util", "spec_from_file_location"): "imports code by path",
    ("importlib.util", "module_from_spec"): "builds modules by hand",
    ("sys", "settrace"): "installs a trace hook", ("sys", "setprofile"): "installs a profiler",
    ("threading", "settrace"): "installs a trace hook",
    ("threading", "setprofile"): "installs a profiler",
    ("sys", "addaudithook"): "installs an audit hook", ("sys", "meta_path"): "import hooks",
    ("sys", "path_hooks"): "import hooks",
}
_DYNAMIC = {"exec": "runs dynamic code", "eval": "evaluates dynamic code",
            "compile": "compiles dynamic code", "__import__": "imports by computed name"}
_SECRETS = ("GNUPGHOME", ".gnupg", "DUFFLEBAG_", "gpg-agent", "secring", "pubring.kbx")


@dataclass(frozen=True)
class Finding:
    """One policy violation, at ``file:line``."""

    file: str
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.detail}"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str
    is_test: bool


def own_packages(root: Path, source: Sequence[str] = ()) -> set[str]:
    """Top-level names the extension itself provides (packages and root modules)."""
    names = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    names |= {p.stem for p in root.glob("*.py")}
    names |= {s.split(".")[0].split("/")[0] for s in source if s}
    return names - {"setup", "conftest"}


def source_files(root: Path, test_paths: Sequence[str]) -> Iterator[SourceFile]:
    """Every ``.py`` file under ``root`` (caches and build output left out), sorted."""
    tests = [(root / t).resolve() for t in test_paths]
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        resolved = path.resolve()
        is_test = path.name == "conftest.py" or any(
            resolved == t or resolved.is_relative_to(t) for t in tests)
        yield SourceFile(path, rel.as_posix(), is_test)


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: SourceFile, allowed: set[str]) -> None:
        self.file = file
        self.allowed = allowed
        self.findings: list[Finding] = []
        self.imported: dict[str, str] = {}  # local name -> dotted module (or module.attr)

    def add(self, node: ast.AST, rule: str, detail: str) -> None:
        self.findings.append(Finding(self.file.rel, getattr(node, "lineno", 0), rule, detail))

    # -- imports -----------------------------------------------------------
    def _check_module(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        for name, why in _FORBIDDEN_MODULES.items():
            if module == name or module.startswith(name + "."):
                self.add(node, "forbidden-import", f"imports {module} ({why})")
                return
        if any(module == name or module.startswith(name + ".") for name in _TEST_ONLY):
            if not self.file.is_test:
                self.add(node, "forbidden-import", f"imports {module} outside test code")
            return
        if top == "dufflebag_harness":
            if module != _SDK and not module.startswith(_SDK + "."):
                self.add(node, "forbidden-import",
                         f"imports {module} (harness internals; only {_SDK} is public)")
            return
        if top in _TEST_ONLY:
            if not self.file.is_test:
                self.add(node, "forbidden-import", f"imports {module} outside test code")
            return
        if top in _STDLIB or top in self.allowed:
            return
        if self.file.is_test and top in TEST_LIBRARIES:
            return
        self.add(node, "not-allowed-import",
                 f"imports {module}: not the standard library, the extension's own package "
                 "or dufflebag_harness.sdk (third-party dependencies are not supported yet)")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            local = alias.asname or alias.name.split(".")[0]
            self.imported[local] = alias.name if alias.asname else alias.name.split(".")[0]
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative: the extension's own package
            self.generic_visit(node)
            return
        module = node.module or ""
        for alias in node.names:
            target = f"{module}.{alias.name}"
            self._check_module(node, target if module == "dufflebag_harness" else module)
            if (module, alias.name) in _TAMPER_ATTRS:
                self.add(node, "tamper", f"imports {module}.{alias.name} "
                                         f"({_TAMPER_ATTRS[(module, alias.name)]})")
            self.imported[alias.asname or alias.name] = target
        self.generic_visit(node)

    # -- uses --------------------------------------------------------------
    def _origin(self, node: ast.expr) -> str | None:
        """The dotted import an expression refers to (``sys.modules`` → "sys.modules")."""
        if isinstance(node, ast.Name):
            return self.imported.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._origin(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        base = self._origin(node.value)
        if base is not None and (base, node.attr) in _TAMPER_ATTRS:
            self.add(node, "tamper", f"uses {base}.{node.attr} "
                                     f"({_TAMPER_ATTRS[(base, node.attr)]})")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _DYNAMIC and func.id not in self.imported:
            self.add(node, "dynamic-code", f"calls {func.id}() ({_DYNAMIC[func.id]}, which the "
                                           "import policy cannot see through)")
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            target = node.args[0]
            if self._foreign(target):
                self.add(node, "monkeypatch", f"{func.id}() on {ast.unparse(target)[:60]} "
                                              "(changes another module)")
        origin = self._origin(func) if isinstance(func, ast.Attribute) else None
        if origin and origin.startswith("sys.modules."):
            self.add(node, "sys-modules", f"calls {origin}() (rewrites the module table)")
        elif origin in ("sys.path.append", "sys.path.insert", "sys.path.extend"):
            self.add(node, "import-path", f"calls {origin}() (changes where imports come from)")
        self.generic_visit(node)

    def _foreign(self, node: ast.expr) -> bool:
        """Whether ``node`` is (an attribute of) something imported from elsewhere."""
        if isinstance(node, ast.Name):
            if node.id == "__builtins__":
                return True
            origin = self.imported.get(node.id)
            return origin is not None and origin.split(".")[0] not in self.allowed
        if isinstance(node, ast.Attribute):
            return self._foreign(node.value)
        if isinstance(node, ast.Subscript):
            return self._origin(node.value) == "sys.modules" or self._foreign(node.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id == "vars" and bool(node.args) and self._foreign(node.args[0])
        return False

    def _check_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Subscript) and self._origin(target.value) == "sys.modules":
            self.add(target, "sys-modules", "writes sys.modules (replaces a module)")
        elif isinstance(target, ast.Attribute | ast.Subscript) and self._foreign(target.value):
            self.add(target, "monkeypatch", f"assigns {ast.unparse(target)[:60]} "
                                            "(monkeypatches another module)")
        elif isinstance(target, ast.Tuple | ast.List):
            for item in target.elts:
                self._check_target(item)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring or bare string: text, not a reference
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and not self.file.is_test:
            hit = next((s for s in _SECRETS if s in node.value), None)
            if hit:
                self.add(node, "signing-secrets", f"refers to {hit!r} (the harness's signing "
                                                  "keys and settings)")


def scan_imports(root: Path, test_paths: Sequence[str], source: Sequence[str] = (),
                 dependencies: Sequence[str] = ()) -> tuple[list[Finding], int]:
    """Policy findings for every source file under ``root``, and how many files were read."""
    allowed = own_packages(root, source) | set(dependencies)
    findings: list[Finding] = []
    count = 0
    for file in source_files(root, test_paths):
        count += 1
        try:
            tree = ast.parse(file.path.read_bytes(), filename=file.rel)
        except (SyntaxError, ValueError, OSError) as exc:
            line = getattr(exc, "lineno", 0) or 0
            findings.append(Finding(file.rel, line, "unparsable",
                                    f"cannot be parsed ({type(exc).__name__}): the policy "
                                    "cannot vouch for it"))
            continue
        visitor = _Visitor(file, allowed)
        visitor.visit(tree)
        findings.extend(visitor.findings)
    return findings, count
