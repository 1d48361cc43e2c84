"""The import allow-list and tamper policy, read from the artifact's files (parent side).

Nothing here imports or runs extension code: Python files are read with
``ast``, bytecode with a small reader of the marshal format that builds no
objects. The policy covers **every file of the artifact** — the same members
the artifact digest covers (:func:`dufflebag_harness.outside.loader._tree.walk`):
``build/``, ``dist/``, ``.venv/``, ``__pycache__/`` and hidden folders included,
because anything shipped may be imported once installed.

Files that are refused whatever they hold (``FILE_RULES``): native modules,
``*.pth`` files, ``sitecustomize.py``/``usercustomize.py``, bytecode without its
source beside it, and bytecode that is not what compiling that source with
this interpreter gives (another Python version, an unchecked hash-based pyc,
a pyc for other code). A cache this Python wrote for the source — by an
import or by this harness's pytest rewriting assertions — passes.

Allowed imports: the standard library (``sys.stdlib_module_names``), the
extension's own top-level packages, packages named like the extensions it
declares as dependencies, and ``dufflebag_harness.sdk``; test code (``[tests].paths``,
any ``conftest.py``) may also import ``pytest``, ``dufflebag_harness.fixtures`` and the
libraries the harness itself runs on (test code only ever runs in the
harness's environment, where exactly those are installed) except the ones
that judge it (coverage, bandit, gnupg). Third-party libraries in shipped code
are not supported yet.

Forbidden in shipped code and tests alike, whatever the list says (``RULES``):
harness internals (all of ``dufflebag_harness`` but the SDK), ``_pytest``, ``ctypes``;
dynamic code in any spelling (``exec``, ``eval``, ``compile``, ``__import__`` by
name, alias, ``builtins.``/``__builtins__[...]``/``getattr(builtins, ...)``, and
the standard library's exec-equivalents); ``getattr``/``setattr``/``delattr``
with computed names on anything but the file's own objects; stack frames and
other code's globals; rewriting ``__file__``, ``__spec__``, ``__loader__``,
``__builtins__``; any use of ``sys.modules`` and of the import path; reaching
or writing ``builtins``; assignments to (or ``setattr`` on) attributes of
imported modules and objects (monkeypatching someone else's code); ``gc`` object
walks, trace/profile/audit hooks; and references to the harness's signing
secrets.

Names are resolved as Python resolves them: ``exec`` means the builtin unless a
*function* binds it (module and class bindings are looked up at run time and
fall back to the builtin, so they do not count).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from dufflebag_harness.outside.loader import RESERVED_TOP_LEVEL
from dufflebag_harness.outside.loader._tree import BYTECODE_DIR, BYTECODE_SUFFIXES, walk

__all__ = [
    "FILE_RULES", "RULES", "TEST_LIBRARIES", "Finding", "SourceFile", "own_packages",
    "scan_imports", "source_files",
]

#: Every rule a finding can name, with what it means.
RULES = {
    "forbidden-import": "imports a module no extension may use",
    "not-allowed-import": "imports something outside the allow-list",
    "tamper": "reaches into the interpreter, the import system or other objects",
    "dynamic-code": "runs code the policy cannot read (exec, eval, compile, __import__, ...)",
    "dynamic-attr": "getattr/setattr/delattr with a computed name on what is not the file's own",
    "frame-access": "reads stack frames or other code's globals",
    "fake-identity": "rewrites __file__, __spec__, __loader__ or __builtins__",
    "sys-modules": "uses sys.modules, the interpreter's module table",
    "builtins": "reaches the builtins namespace itself",
    "monkeypatch": "assigns attributes of another module or object",
    "import-path": "changes where imports come from",
    "signing-secrets": "refers to the harness's signing keys and settings",
    "unparsable": "a Python file the policy cannot parse",
    "sourceless-bytecode": "bytecode with no source beside it",
    "bytecode-mismatch": "bytecode that is not what this Python compiles from its source",
    "native-code": "a native module (machine code)",
    "pth-file": "a .pth file",
    "startup-hook": "sitecustomize.py or usercustomize.py",
}
#: Files refused by name: (rule, suffixes, exact names, why).
FILE_RULES = (
    ("native-code", (".so", ".pyd", ".dylib", ".dll"), (), "the policy cannot read what it does"),
    ("pth-file", (".pth",), (), "site runs its import lines at interpreter start"),
    ("startup-hook", (), ("sitecustomize.py", "usercustomize.py"),
     "site imports it at interpreter start"),
)

_PY_SUFFIXES = (".py", ".pyw")
_STDLIB = frozenset(sys.stdlib_module_names)
_FORBIDDEN_MODULES = {
    "ctypes": "ctypes (native code)", "_ctypes": "ctypes (native code)",
    "_pytest": "pytest internals", "imp": "import machinery", "runpy": "running code by path",
    "zipimport": "import machinery", "importlib.machinery": "import machinery",
    "code": "runs code from strings", "codeop": "compiles code from strings",
    "pdb": "a debugger: runs code from strings, walks frames", "bdb": "debugger machinery",
}
_TEST_ONLY = frozenset({"pytest", "dufflebag_harness.fixtures"})
_SDK = "dufflebag_harness.sdk"
#: Libraries of the harness's own environment that test code may use (not its judges).
TEST_LIBRARIES = frozenset(
    RESERVED_TOP_LEVEL - _STDLIB - {"dufflebag_harness", "_pytest", "pytest", "pluggy",
                                    "coverage", "bandit", "gnupg"})

#: Dotted names that may not be used at all (read, called, aliased or imported):
#: name -> (rule, why).
_REACH: dict[str, tuple[str, str]] = {
    **{f"builtins.{n}": ("dynamic-code", why) for n, why in {
        "exec": "runs dynamic code", "eval": "evaluates dynamic code",
        "compile": "compiles dynamic code", "__import__": "imports by computed name"}.items()},
    "builtins.__dict__": ("builtins", "the builtins namespace"),
    "timeit.timeit": ("dynamic-code", "compiles statements from strings"),
    "timeit.repeat": ("dynamic-code", "compiles statements from strings"),
    "timeit.Timer": ("dynamic-code", "compiles statements from strings"),
    "profile.run": ("dynamic-code", "runs code from strings"),
    "profile.runctx": ("dynamic-code", "runs code from strings"),
    "cProfile.run": ("dynamic-code", "runs code from strings"),
    "cProfile.runctx": ("dynamic-code", "runs code from strings"),
    "marshal.load": ("dynamic-code", "loads code objects from bytes"),
    "marshal.loads": ("dynamic-code", "loads code objects from bytes"),
    "types.CodeType": ("dynamic-code", "builds code objects"),
    "pickle.load": ("dynamic-code", "unpickling calls whatever the data names"),
    "pickle.loads": ("dynamic-code", "unpickling calls whatever the data names"),
    "pickle.Unpickler": ("dynamic-code", "unpickling calls whatever the data names"),
    "gc.get_objects": ("tamper", "walks every object in the process"),
    "gc.get_referrers": ("tamper", "walks objects that refer to others"),
    "gc.get_referents": ("tamper", "walks objects' references"),
    "importlib.import_module": ("tamper", "imports by computed name"),
    "importlib.reload": ("tamper", "reloads modules"),
    "importlib.__import__": ("tamper", "imports by computed name"),
    "importlib.util.spec_from_file_location": ("tamper", "imports code by path"),
    "importlib.util.module_from_spec": ("tamper", "builds modules by hand"),
    "pkgutil.resolve_name": ("tamper", "imports by computed name"),
    "pydoc.locate": ("tamper", "imports by computed name"),
    "sys.settrace": ("tamper", "installs a trace hook"),
    "sys.setprofile": ("tamper", "installs a profiler"),
    "threading.settrace": ("tamper", "installs a trace hook"),
    "threading.setprofile": ("tamper", "installs a profiler"),
    "sys.addaudithook": ("tamper", "installs an audit hook"),
    "sys._getframe": ("frame-access", "reads the caller's frames"),
    "sys._current_frames": ("frame-access", "reads every thread's frames"),
    "inspect.currentframe": ("frame-access", "reads the caller's frames"),
    "inspect.stack": ("frame-access", "reads the caller's frames"),
    "inspect.trace": ("frame-access", "reads frames of a traceback"),
    "inspect.getouterframes": ("frame-access", "reads the caller's frames"),
    "inspect.getinnerframes": ("frame-access", "reads frames of a traceback"),
    "traceback.walk_stack": ("frame-access", "reads the caller's frames"),
    "traceback.walk_tb": ("frame-access", "reads frames of a traceback"),
    "sys.modules": ("sys-modules", "reading it reaches modules around the allow-list, "
                                   "writing it replaces them"),
    "sys.path": ("import-path", "where imports come from"),
    "sys.meta_path": ("import-path", "import hooks"),
    "sys.path_hooks": ("import-path", "import hooks"),
    "sys.path_importer_cache": ("import-path", "import finders"),
    "site.addsitedir": ("import-path", "adds import folders and runs their .pth files"),
    "pkgutil.extend_path": ("import-path", "adds folders to a package"),
}
#: Modules also reachable as attributes of other modules (``os.sys``): a dotted name
#: is judged from the last of these it passes through.
_ROOTS = frozenset({"sys", "builtins", "importlib", "gc", "inspect", "marshal", "pickle",
                    "types", "site", "pkgutil", "traceback"})
#: Attributes that reach frames, code or other code's globals, on whatever object:
#: name -> (rule, why).
_ATTRS = {
    **{name: ("frame-access", why) for name, why in {
        "f_back": "the calling frame", "f_globals": "a frame's module globals",
        "f_locals": "a frame's locals", "f_builtins": "a frame's builtins",
        "tb_frame": "a traceback's frames", "gi_frame": "a generator's frame",
        "cr_frame": "a coroutine's frame", "ag_frame": "an async generator's frame",
        "__globals__": "a function's module globals", "__closure__": "a function's cells",
        "__subclasses__": "every subclass alive, and through them any module"}.items()},
    "__code__": ("dynamic-code", "a function's code object, which can be swapped or rebuilt"),
    "__builtins__": ("builtins", "the builtins namespace"),
}
#: Modules that may only be used for one member at a time (``sys.argv``), never
#: handed around whole (``f(sys)``, ``vars(builtins)``): what is done with them
#: then is hidden from the policy.
_WHOLE_MODULES = {"builtins": "builtins", "sys": "tamper", "importlib": "tamper"}
#: Names that say what a module is and where its code came from.
_IDENTITY = frozenset({"__file__", "__spec__", "__loader__", "__builtins__"})
#: Builtins whose plain name the policy follows (``e = exec`` is exec).
_WATCHED_BUILTINS = frozenset({"exec", "eval", "compile", "__import__", "getattr", "setattr",
                               "delattr", "globals", "vars"})
_ATTR_FUNCS = frozenset({"builtins.getattr", "builtins.setattr", "builtins.delattr"})
#: ``obj.__setattr__(name, value)``: how many arguments the bound call takes.
_DUNDER_ATTR_METHODS = {"__getattribute__": 1, "__getattr__": 1, "__setattr__": 2,
                        "__delattr__": 1}
_SECRETS = ("GNUPGHOME", ".gnupg", "DUFFLEBAG_", "gpg-agent", "secring", "pubring.kbx")


@dataclass(frozen=True)
class Finding:
    """One policy violation, at ``file:line``."""

    file: str
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.detail}"


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


# -- the artifact's files -------------------------------------------------------------
@dataclass(frozen=True)
class _Member:
    """A member of the artifact; ``path`` is what to read (a link's target inside the
    artifact), None for a link that leads nowhere readable inside it."""

    rel: str
    path: Path | None


def _members(root: Path) -> list[_Member]:
    top = root.resolve()
    out = []
    for entry in walk(root):
        path: Path | None = entry.path
        if entry.link is not None:
            try:
                target = entry.path.resolve()
            except (OSError, RuntimeError):  # a loop of links
                target = top / "\0"
            inside = target == top or target.is_relative_to(top)
            path = target if inside and target.is_file() else None
        out.append(_Member(entry.rel, path))
    return out


def _sources(root: Path, members: Iterable[_Member],
             test_paths: Sequence[str]) -> Iterator[SourceFile]:
    tests = [(root / t).resolve() for t in test_paths]
    for member in members:
        name = member.rel.rsplit("/", 1)[-1]
        if member.path is None or not name.endswith(_PY_SUFFIXES):
            continue
        resolved = (root / member.rel).resolve()
        is_test = name == "conftest.py" or any(
            resolved == t or resolved.is_relative_to(t) for t in tests)
        yield SourceFile(member.path, member.rel, is_test)


def source_files(root: Path, test_paths: Sequence[str]) -> Iterator[SourceFile]:
    """Every Python file under ``root`` (no folder skipped; links inside it read), sorted."""
    yield from _sources(root, _members(root), test_paths)


def _file_rule(rel: str) -> Finding | None:
    name = rel.rsplit("/", 1)[-1].lower()
    versioned = re.sub(r"(\.so)(\.\d+)+$", r"\1", name)  # libz.so.1 is a .so
    for rule, suffixes, names, why in FILE_RULES:
        if name in names or versioned.endswith(suffixes):
            return Finding(rel, 0, rule, f"{RULES[rule]}: {why}")
    return None


# -- bytecode -------------------------------------------------------------------------
class _BadBytecode(Exception):
    """The bytes are not marshalled code this reader accepts."""


class _Code(NamedTuple):
    argcount: int
    posonlyargcount: int
    kwonlyargcount: int
    stacksize: int
    flags: int
    code: object
    consts: object
    names: object
    localsplusnames: object
    localspluskinds: object
    filename: object
    name: object
    qualname: object
    firstlineno: int
    linetable: object
    exceptiontable: object


_PENDING = object()
_SINGLETONS: dict[str, object] = {"N": ("None",), "F": ("bool", False), "T": ("bool", True),
                                  ".": ("Ellipsis",), "S": ("StopIteration",)}


class _CodeReader:
    """Reads marshalled code into plain, comparable tuples; never builds an object from it.

    ``marshal.loads`` is not safe on untrusted bytes, and its output is not
    canonical: whether a string is written as interned, or an object as a
    back-reference, depends on the writing process's state (reference counts,
    which one-letter strings happen to be interned), so two caches of the same
    source can differ in those bits. This reader drops them and keeps values.
    Layout of CPython 3.11+ code objects.
    """

    MAX_DEPTH = 64

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.refs = data, 0, list[object]()

    def read_all(self) -> object:
        value = self.read(0)
        if self.pos != len(self.data):
            raise _BadBytecode("bytes left after the code object")
        return value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _BadBytecode("truncated")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def int32(self) -> int:
        return int.from_bytes(self.take(4), "little", signed=True)

    def size(self) -> int:
        n = self.int32()
        if n < 0 or n > len(self.data) - self.pos:
            raise _BadBytecode("bad length")
        return n

    def read(self, depth: int) -> object:
        if depth > self.MAX_DEPTH:
            raise _BadBytecode("nested too deep")
        byte = self.take(1)[0]
        kind = chr(byte & 0x7F)
        if kind == "r":
            index = self.int32()
            if not 0 <= index < len(self.refs) or self.refs[index] is _PENDING:
                raise _BadBytecode("bad back-reference")
            return self.refs[index]
        slot = None
        if byte & 0x80:
            slot = len(self.refs)
            self.refs.append(_PENDING)
        value = self._value(kind, depth)
        if slot is not None:
            self.refs[slot] = value
        return value

    def _value(self, kind: str, depth: int) -> object:
        if kind in _SINGLETONS:
            return _SINGLETONS[kind]
        try:
            if kind == "i":
                return ("int", self.int32())
            if kind == "l":
                return ("int", self._long())
            if kind in "gy":
                return ("float" if kind == "g" else "complex", self.take(8 if kind == "g" else 16))
            if kind == "s":
                return ("bytes", self.take(self.size()))
            if kind in "zZ":
                return ("str", self.take(self.take(1)[0]).decode("ascii"))
            if kind in "aAut":
                encoding = "ascii" if kind in "aA" else "utf-8"
                return ("str", self.take(self.size()).decode(encoding, "surrogatepass"))
        except UnicodeDecodeError:
            raise _BadBytecode("bad string") from None
        if kind in "()>":
            n = self.take(1)[0] if kind == ")" else self.size()
            items = tuple(self.read(depth + 1) for _ in range(n))
            return ("frozenset", tuple(sorted(items, key=repr))) if kind == ">" else ("tuple",
                                                                                   items)
        if kind == "c":
            return self._code(depth)
        raise _BadBytecode(f"unexpected marshal type {kind!r}")

    def _long(self) -> int:
        n = self.int32()
        if abs(n) > len(self.data):
            raise _BadBytecode("bad length")
        value = 0
        for i in range(abs(n)):
            digit = int.from_bytes(self.take(2), "little")
            if digit >= 1 << 15:
                raise _BadBytecode("bad long digit")
            value |= digit << (15 * i)
        return -value if n < 0 else value

    def _code(self, depth: int) -> _Code:
        counts = tuple(self.int32() for _ in range(5))
        objects = tuple(self.read(depth + 1) for _ in range(8))
        firstlineno = self.int32()
        tail = tuple(self.read(depth + 1) for _ in range(2))
        return _Code._make((*counts, *objects, firstlineno, *tail))


def _code_tree(data: bytes) -> _Code:
    tree = _CodeReader(data).read_all()
    if not isinstance(tree, _Code):
        raise _BadBytecode("not a code object")
    return tree


@dataclass(frozen=True)
class _PycName:
    """Where a bytecode file's source is, and how this Python would have compiled it."""

    source_rel: str
    optimize: int = 0
    pytest: bool = False
    foreign_tag: str | None = None


def _pytest_tag() -> str:
    from _pytest.assertion.rewrite import PYTEST_TAG

    return PYTEST_TAG


def _pyc_name(rel: str) -> _PycName:
    path = PurePosixPath(rel)
    if path.parent.name != BYTECODE_DIR:  # legacy location: mod.pyc beside mod.py
        return _PycName(str(path.with_suffix(".py")))
    stem, _, rest = path.name.partition(".")
    source = str(path.parent.parent / f"{stem}.py")
    tag = sys.implementation.cache_tag
    for optimize in (0, 1, 2):
        if rest == (f"{tag}.pyc" if optimize == 0 else f"{tag}.opt-{optimize}.pyc"):
            return _PycName(source, optimize=optimize)
    if rest == f"{_pytest_tag()}.pyc":
        return _PycName(source, pytest=True)
    return _PycName(source, foreign_tag=rest.rsplit(".", 1)[0] if "." in rest else "no tag")


def _compiled(source: bytes, filename: str, name: _PycName) -> bytes:
    """What this interpreter (and, for a pytest cache, this pytest) writes for ``source``."""
    import marshal

    if name.pytest:
        from _pytest.assertion.rewrite import rewrite_asserts

        tree = ast.parse(source, filename=filename)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rewrite_asserts(tree, source, filename, None)
        code = compile(tree, filename, "exec", dont_inherit=True)
    else:
        code = compile(source, filename, "exec", dont_inherit=True, optimize=name.optimize)
    return marshal.dumps(code)


def _bytecode_problem(rel: str, data: bytes, sources: dict[str, Path]) -> tuple[str, str] | None:
    """(rule, detail) for a bytecode file that is not a cache of its source, else None."""
    name = _pyc_name(rel)
    source_path = sources.get(name.source_rel)
    if source_path is None:
        return "sourceless-bytecode", (f"bytecode without its source {name.source_rel}: Python "
                                       "imports it as it is, and the policy cannot read it")
    if rel.lower().endswith(".pyo"):
        return "bytecode-mismatch", ".pyo files are not written by Python 3"
    if name.foreign_tag is not None:
        return "bytecode-mismatch", (f"compiled for {name.foreign_tag!r}, not this interpreter "
                                     f"({sys.implementation.cache_tag})")
    source = source_path.read_bytes()
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return "bytecode-mismatch", "written by another Python version (magic number)"
    flags = int.from_bytes(data[4:8], "little")
    if flags == 0 and int.from_bytes(data[12:16], "little") != len(source) & 0xFFFFFFFF:
        return "bytecode-mismatch", f"stale: compiled from another {name.source_rel}"
    if flags == 3 and data[8:16] != importlib.util.source_hash(source):
        return "bytecode-mismatch", f"stale: compiled from another {name.source_rel}"
    if flags not in (0, 3):
        what = "an unchecked hash-based pyc" if flags == 1 else f"unknown pyc flags {flags}"
        return "bytecode-mismatch", (f"{what}: Python runs it without looking at "
                                     f"{name.source_rel}")
    try:
        found = _code_tree(data[16:])
    except _BadBytecode as exc:
        return "bytecode-mismatch", f"not a code object this Python writes ({exc})"
    if not isinstance(found.filename, tuple) or found.filename[0] != "str":
        return "bytecode-mismatch", "not a code object this Python writes (filename)"
    try:
        expected = _code_tree(_compiled(source, str(found.filename[1]), name))
    except (SyntaxError, ValueError, RecursionError):
        return "bytecode-mismatch", f"{name.source_rel} does not compile, yet this was compiled"
    if found != expected:
        return "bytecode-mismatch", (f"not what this Python compiles from {name.source_rel}: "
                                     "it runs other code than the source shows")
    return None


def _bytecode_findings(members: Sequence[_Member]) -> Iterator[Finding]:
    sources = {m.rel: m.path for m in members if m.path is not None and m.rel.endswith(".py")}
    for member in members:
        if not member.rel.lower().endswith(BYTECODE_SUFFIXES):
            continue
        if member.path is None:
            yield Finding(member.rel, 0, "sourceless-bytecode", "a link named like bytecode")
            continue
        problem = _bytecode_problem(member.rel, member.path.read_bytes(), sources)
        if problem is not None:
            yield Finding(member.rel, 0, *problem)


# -- scopes: does a plain name mean the builtin? -----------------------------------------
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_NESTED = (*_FUNCTIONS, ast.ClassDef, *_COMPREHENSIONS)
_NAMED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler, ast.MatchAs,
          ast.MatchStar)


@dataclass
class _Scope:
    """A function-like scope's own bindings (static: they never fall back to builtins)."""

    kind: str  # "function" or "class"
    bound: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope evaluated in the enclosing scope."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return [*node.decorator_list, node.args, *([node.returns] if node.returns else [])]
    if isinstance(node, ast.Lambda):
        return [node.args]
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *node.keywords]
    if isinstance(node, _COMPREHENSIONS):
        return [node.generators[0].iter]
    return []


def _in_scope(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Nodes of one scope, not descending into nested scopes' own parts."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_outer_parts(node) if isinstance(node, _NESTED)
                     else ast.iter_child_nodes(node))


def _arg_names(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


def _function_scope(node: ast.AST) -> _Scope:
    scope = _Scope("function")
    if isinstance(node, _FUNCTIONS):
        scope.bound |= _arg_names(node.args)
        body: list[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
    else:  # a comprehension binds only its targets (a := inside binds outside)
        assert isinstance(node, _COMPREHENSIONS)
        body = []
        scope.bound |= {n.id for g in node.generators for n in ast.walk(g.target)
                        if isinstance(n, ast.Name)}
    nonlocal_: set[str] = set()
    for child in _in_scope(body):
        if isinstance(child, ast.Name) and not isinstance(child.ctx, ast.Load):
            scope.bound.add(child.id)
        elif isinstance(child, ast.Import | ast.ImportFrom):
            scope.bound |= {a.asname or a.name.split(".")[0] for a in child.names}
        elif isinstance(child, _NAMED) and child.name:
            scope.bound.add(child.name)
        elif isinstance(child, ast.MatchMapping) and child.rest:
            scope.bound.add(child.rest)
        elif isinstance(child, ast.Global):
            scope.declared_global |= set(child.names)
        elif isinstance(child, ast.Nonlocal):
            nonlocal_ |= set(child.names)
    scope.bound -= scope.declared_global | nonlocal_
    return scope


# -- names every scope of the file shares --------------------------------------------------
def _module_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """(local name -> dotted import it stands for, names the module defines itself).

    Flow-insensitive: an import or alias anywhere in the file counts everywhere.
    """
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                imported[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            imported.update({a.asname or a.name: f"{node.module or ''}.{a.name}"
                             for a in node.names if a.name != "*"})
    defined = {n.name for n in tree.body
               if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                for t in ast.walk(n) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)}
    return imported, defined - set(imported)


def _normal(origin: str) -> str:
    """``os.sys.modules`` is ``sys.modules``: judge from the last root module passed."""
    parts = origin.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] in _ROOTS:
            return ".".join(parts[i:])
    return origin


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: SourceFile, allowed: set[str], tree: ast.Module,
                 installed: Mapping[str, str] | None = None) -> None:
        self.file = file
        self.allowed = allowed
        #: Top-level modules installed for the extension but not declared -> distribution.
        self.installed = installed or {}
        self.findings: list[Finding] = []
        self.imported, self.defined = _module_names(tree)
        self.scopes: list[_Scope] = []
        self.parents = {child: node for node in ast.walk(tree)
                        for child in ast.iter_child_nodes(node)}
        self._aliases(tree)

    def add(self, node: ast.AST, rule: str, detail: str) -> None:
        assert rule in RULES, rule
        self.findings.append(Finding(self.file.rel, getattr(node, "lineno", 0), rule, detail))

    def _aliases(self, tree: ast.Module) -> None:
        """``m = sys.modules``: ``m`` stands for ``sys.modules`` (to a fixed point)."""
        pairs = [(t.id, n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name)]
        pairs += [(n.target.id, n.value) for n in ast.walk(tree)
                  if isinstance(n, ast.NamedExpr | ast.AnnAssign)
                  and isinstance(n.target, ast.Name) and n.value is not None]
        for _ in range(5):
            found = {name: o for name, value in pairs if (o := self._origin(value)) is not None
                     and self.imported.get(name) != o}
            if not found:
                return
            self.imported.update(found)
            self.defined -= set(found)

    # -- what an expression stands for ---------------------------------------------
    def _builtin(self, name: str) -> bool:
        """Whether the plain name ``name`` here may mean the builtin of that name.

        Only a function's own binding is certain; a module or class binding (even
        an import) may not have run, or may be deleted, and lookup falls back to
        the builtin.
        """
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                if name in scope.declared_global:
                    return True
                if name in scope.bound:
                    return False
        return True

    def _origin(self, node: ast.AST) -> str | None:
        """The dotted name an expression stands for (``sys.modules``, ``builtins.exec``)."""
        if isinstance(node, ast.Name):
            if node.id == "__builtins__":
                return "builtins"
            if node.id in _WATCHED_BUILTINS and self._builtin(node.id):
                return f"builtins.{node.id}"
            return self.imported.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._origin(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):  # __builtins__["exec"], vars(m)["x"]
            base, key = self._origin(node.value), _literal(node.slice)
            if base is not None and key is not None and (
                    base == "builtins" or base.endswith(".__dict__")):
                return f"{base.removesuffix('.__dict__')}.{key}"
            return None
        if isinstance(node, ast.Call):
            return self._call_origin(node)
        return None

    def _call_origin(self, node: ast.Call) -> str | None:
        func = self._origin(node.func)
        first = node.args[0] if node.args else None
        if func == "builtins.getattr" and len(node.args) >= 2:
            base, name = self._origin(node.args[0]), _literal(node.args[1])
            return f"{base}.{name}" if base and name else None
        if func == "builtins.vars" and first is not None:
            base = self._origin(first)
            return f"{base}.__dict__" if base else None
        if func in ("builtins.__import__", "importlib.import_module"):
            return _literal(first)
        return None

    def _judge(self, node: ast.AST, origin: str | None) -> None:
        if origin is None:
            return
        hit = _REACH.get(_normal(origin))
        if hit is None:
            return
        rule, why = hit
        shown = _normal(origin).removeprefix("builtins.")
        parent = self.parents.get(node)
        if rule == "dynamic-code" and isinstance(parent, ast.Call) and parent.func is node:
            self.add(node, rule, f"calls {shown}() ({why}, which the import policy cannot "
                                 "see through)")
        else:
            self.add(node, rule, f"uses {shown} ({why})")

    def _own(self, node: ast.expr) -> bool:
        """The file's own objects: ``self``/``cls`` and what the module defines itself."""
        return isinstance(node, ast.Name) and (node.id in ("self", "cls")
                                               or node.id in self.defined)

    def _foreign(self, node: ast.expr) -> bool:
        """Whether ``node`` is (an attribute of) something imported from elsewhere."""
        if isinstance(node, ast.Name):
            origin = self._origin(node)
            return origin is not None and origin.split(".")[0] not in self.allowed
        if isinstance(node, ast.Attribute):
            return self._foreign(node.value)
        if isinstance(node, ast.Subscript):
            return self._foreign(node.value)
        if isinstance(node, ast.Call):
            return self._origin(node.func) == "builtins.vars" and bool(node.args) and \
                self._foreign(node.args[0])
        return False

    # -- scopes ------------------------------------------------------------------------
    def _nested(self, node: ast.AST, scope: _Scope, inner: Iterable[ast.AST]) -> None:
        for part in _outer_parts(node):
            self.visit(part)
        self.scopes.append(scope)
        for part in inner:
            self.visit(part)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._binds(node, node.name)
        self._nested(node, _function_scope(node), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._nested(node, _function_scope(node), [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._binds(node, node.name)
        self._nested(node, _Scope("class"), node.body)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
                       ) -> None:
        first, *rest = node.generators
        results = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._nested(node, _function_scope(node),
                     [first.target, *first.ifs, *rest, *results])

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    # -- imports -----------------------------------------------------------------------
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
        if top in _STDLIB or top in self.allowed:
            return
        if self.file.is_test and top in TEST_LIBRARIES:
            return
        if top in self.installed:
            self.add(node, "not-allowed-import",
                     f"imports {module}: provided by {self.installed[top]}, which is installed "
                     "(a dependency of a dependency) but not declared: declare it in "
                     "[project].dependencies")
            return
        self.add(node, "not-allowed-import",
                 f"imports {module}: not the standard library, the extension's own package, "
                 "dufflebag_harness.sdk or a declared dependency")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            self._judge(node, alias.name)
            self._binds(node, alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative: the extension's own package
            return
        module = node.module or ""
        for alias in node.names:
            target = f"{module}.{alias.name}"
            self._check_module(node, target if module == "dufflebag_harness" else module)
            self._judge(node, target)
            self._binds(node, alias.asname or alias.name)

    # -- uses --------------------------------------------------------------------------
    def _binds(self, node: ast.AST, name: str) -> None:
        if name in _IDENTITY:
            self.add(node, "fake-identity", f"binds {name} (says where code came from)")

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._binds(node, node.id)
            if node.id == "__path__":
                self.add(node, "import-path", "assigns __path__ (where the package's modules "
                                              "come from)")
            return
        if node.id == "__path__":
            self.add(node, "import-path", "uses __path__ (where the package's modules come from)")
        origin = self._origin(node)
        parent = self.parents.get(node)
        calls_it = isinstance(parent, ast.Call) and parent.func is node
        whole = _normal(origin or "")
        if whole in _WHOLE_MODULES and not self._used_as_base(node):
            self.add(node, _WHOLE_MODULES[whole], f"hands the {whole} module around whole "
                                                  f"({node.id}): use {whole}.<name> for what "
                                                  "you need")
        elif origin in _ATTR_FUNCS and not calls_it:
            self.add(node, "dynamic-attr", f"passes {node.id} around (the names it reaches "
                                           "are hidden from the policy)")
        elif origin in ("builtins.globals", "builtins.vars") and not calls_it:
            self.add(node, "builtins", f"passes {node.id} around")
        else:
            self._judge(node, origin)

    def _used_as_base(self, node: ast.expr) -> bool:
        """``builtins.x``, ``__builtins__["x"]``, ``getattr(builtins, "x")``: one member."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute):
            return True
        if isinstance(parent, ast.Subscript) and parent.value is node:
            return True
        return (isinstance(parent, ast.Call) and bool(parent.args) and parent.args[0] is node
                and self._origin(parent.func) == "builtins.getattr")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _ATTRS:
            rule, why = _ATTRS[node.attr]
            self.add(node, rule, f"uses .{node.attr} ({why})")
        if not isinstance(node.ctx, ast.Load):
            self._write(node)
        self._judge(node, self._origin(node))
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._write(node)
        else:
            self._judge(node, self._origin(node))
            base, key = self._origin(node.value), node.slice
            if base is not None and base.endswith(".__dict__") and _literal(key) is None \
                    and not self._own(node.value):
                self.add(node, "dynamic-attr", f"reads {ast.unparse(node)[:60]} "
                                               "(a computed name in another namespace)")
        self.generic_visit(node)

    def _write(self, target: ast.Attribute | ast.Subscript) -> None:
        """An assignment to, or ``del`` of, ``target``."""
        name = target.attr if isinstance(target, ast.Attribute) else _literal(target.slice)
        if name in _IDENTITY:
            self.add(target, "fake-identity", f"assigns {ast.unparse(target)[:60]}")
        elif isinstance(target, ast.Subscript) and \
                _normal(self._origin(target.value) or "") == "sys.modules":
            self.add(target, "sys-modules", "writes sys.modules (replaces a module)")
        elif self._foreign(target.value):
            self.add(target, "monkeypatch", f"assigns {ast.unparse(target)[:60]} "
                                            "(monkeypatches another module)")

    def visit_Call(self, node: ast.Call) -> None:
        func = self._origin(node.func)
        self._judge(node, self._call_origin(node))
        if func in _ATTR_FUNCS and node.args:
            self._attr_call(node, func.removeprefix("builtins."))
        if isinstance(node.func, ast.Attribute) and node.func.attr in _DUNDER_ATTR_METHODS:
            self._dunder_attr_call(node, node.func)
        for keyword in node.keywords:
            if keyword.arg in _IDENTITY:
                self.add(node, "fake-identity", f"passes {keyword.arg}= (a made-up module "
                                                "namespace)")
        self.generic_visit(node)

    def _dunder_attr_call(self, node: ast.Call, func: ast.Attribute) -> None:
        """``obj.__setattr__(name, v)`` or ``object.__setattr__(obj, name, v)``."""
        unbound = len(node.args) > _DUNDER_ATTR_METHODS[func.attr]
        target, name = (node.args[0], node.args[1:2]) if unbound else (func.value, node.args[:1])
        is_super = isinstance(target, ast.Call) and self._origin(target.func) is None \
            and isinstance(target.func, ast.Name) and target.func.id == "super"
        if name and _literal(name[0]) is None and not (self._own(target) or is_super):
            self.add(node, "dynamic-attr", f"calls {ast.unparse(func)[:60]}() with a computed "
                                           "name")

    def _attr_call(self, node: ast.Call, name: str) -> None:
        target, attr = node.args[0], _literal(node.args[1]) if len(node.args) > 1 else None
        if attr is None and len(node.args) > 1 and not self._own(target):
            self.add(node, "dynamic-attr", f"{name}() with a computed name on "
                                           f"{ast.unparse(target)[:60]} (hides what it reaches)")
        if attr in _ATTRS:
            rule, why = _ATTRS[attr]
            self.add(node, rule, f"{name}() of .{attr} ({why})")
        if name == "getattr":
            return
        if attr in _IDENTITY:
            self.add(node, "fake-identity", f"{name}() of {attr}")
        elif self._foreign(target) or self._origin(target) == "builtins":
            self.add(node, "monkeypatch", f"{name}() on {ast.unparse(target)[:60]} "
                                          "(changes another module)")

    def visit_Dict(self, node: ast.Dict) -> None:
        for key in node.keys:
            if _literal(key) in _IDENTITY:
                self.add(node, "fake-identity", f"builds a namespace with {_literal(key)} "
                                                "(made-up module identity)")
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


def _python_findings(file: SourceFile, allowed: set[str],
                     installed: Mapping[str, str] | None = None) -> list[Finding]:
    try:
        tree = ast.parse(file.path.read_bytes(), filename=file.rel)
    except (SyntaxError, ValueError, OSError, RecursionError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        return [Finding(file.rel, line, "unparsable", f"cannot be parsed ({type(exc).__name__}): "
                                                      "the policy cannot vouch for it")]
    visitor = _Visitor(file, allowed, tree, installed)
    visitor.visit(tree)
    return visitor.findings


def scan_imports(root: Path, test_paths: Sequence[str], source: Sequence[str] = (),
                 dependencies: Sequence[str] = (), declared: Mapping[str, str] | None = None,
                 installed: Mapping[str, str] | None = None) -> tuple[list[Finding], int]:
    """Policy findings for every file under ``root``, and how many files were read.

    ``declared``: top-level modules of the extension's declared Python dependencies ->
    their distribution (allowed); ``installed``: those of what its environment holds
    besides (refused, naming the distribution). One finding per file, line and rule (the
    first one's detail).
    """
    allowed = own_packages(root, source) | set(dependencies) | set(declared or {})
    members = _members(root)
    findings = [f for m in members if (f := _file_rule(m.rel)) is not None]
    findings += _bytecode_findings(members)
    for file in _sources(root, members, test_paths):
        findings += _python_findings(file, allowed, installed)
    unique = {(f.file, f.line, f.rule): f for f in reversed(findings)}
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.rule)), len(members)
