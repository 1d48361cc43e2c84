"""Probe ``globals.fingerprint``: what every loaded module the extension does not own holds.

The parent compares the extension's worker (after import, after its routes ran)
with the clean reference worker, module by module; this module only describes.
A module is described attribute by attribute, each by what makes it *that*
object rather than by its id, so two processes can be compared:

* a function: qualified name, module, a digest of its code (bytecode, constants
  — nested code included —, names, flags, file and first line), its defaults
  and what code its closure cells hold; a method (bound) the same plus the type
  it is bound to; a builtin its qualified name, module and the type it is bound to;
* a class: qualified name and module; a class *defined in that module* (a heap
  type, the only kind that can be changed) also member by member
  (``Class.member``), functions through ``staticmethod``, ``classmethod``,
  ``property`` and ``cached_property`` unwrapped;
* a module: its name, and whether it is the object ``sys.modules`` holds under it;
* anything else callable: its type and, when it wraps a function
  (``functools.partial``, ``__wrapped__``), that function;
* everything else is ``data``: its value is state the library may legitimately
  change (caches, counters, registries, handler lists), so it is never compared.

The module object itself has a header line: its type, ``__name__`` and
``__file__`` — a swapped ``sys.modules`` entry shows there.

This runs in the same process as the extension's code: an extension determined
to hide can tamper with this module too. That is the limit of any in-process
measurement (see SE-07's docstring); the import policy (SE-03) refuses the
tampering tools themselves.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import os
import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

#: ``Py_TPFLAGS_HEAPTYPE``: a class whose attributes can be set (static C types cannot).
_HEAPTYPE = 1 << 9
#: Nested classes described inside a module's own class, at most this deep.
_CLASS_DEPTH = 3
#: Modules left out everywhere: the running program (a different script in each worker).
_NEVER = frozenset({"__main__", "__mp_main__"})
#: Longest fingerprint text returned per attribute.
_DESC_MAX = 240

_DATA = "data"


def _short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _const(value: Any) -> str:
    """A process-independent text for a code constant (sets sorted: string hashing is
    randomised per process)."""
    if isinstance(value, types.CodeType):
        return "code:" + _code_digest(value)
    if isinstance(value, tuple):
        return "(" + ",".join(_const(v) for v in value) + ")"
    if isinstance(value, frozenset):
        return "{" + ",".join(sorted(_const(v) for v in value)) + "}"
    return repr(value)


@functools.cache
def _code_digest(code: types.CodeType) -> str:
    """Digest of what a code object does: ``co_code`` is the unspecialised bytecode,
    the same in every process running the same source. Code generated at run time (a
    file name like ``<attrs generated hash ...>``: attrs, dataclasses, namedtuple) may
    hold per-process constants (attrs salts ``__hash__`` with a string hash, randomised
    per process): only its names are compared."""
    if code.co_filename.startswith("<"):
        return "generated:" + _short(repr((code.co_names, code.co_varnames, code.co_qualname,
                                           code.co_argcount)).encode())
    parts = [code.co_code, _const(code.co_consts).encode(),
             repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
                   code.co_flags, code.co_argcount, code.co_kwonlyargcount,
                   code.co_posonlyargcount, code.co_qualname, code.co_filename,
                   code.co_firstlineno)).encode()]
    return _short(b"\0".join(parts))


def _name_of(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{module}.{qualname}"


def _type_name(obj: Any) -> str:
    return _name_of(type(obj))


def _here(text: str) -> str:
    """``text`` with this interpreter's paths named, not spelled: a default such as
    ``platform.architecture(executable=sys.executable)`` differs between the extension's
    environment and the harness's by the path alone."""
    for path, name in ((sys.executable, "<python>"), (sys.prefix, "<prefix>"),
                       (sys.exec_prefix, "<exec_prefix>")):
        if path:
            text = text.replace(path, name)
    return text


def _defaults(fn: types.FunctionType) -> str:
    def show(v: Any) -> str:
        if isinstance(v, str):
            return repr(_here(v))
        return repr(v) if isinstance(v, (int, float, bytes, bool, type(None))) \
            else _type_name(v)
    kw = fn.__kwdefaults__ or {}
    return ",".join([show(v) for v in fn.__defaults__ or ()]
                    + [f"{k}={show(kw[k])}" for k in sorted(kw)])


def _cells(fn: types.FunctionType, depth: int) -> str:
    out = []
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            out.append("empty")
            continue
        out.append(_describe(value, depth + 1) if depth < 2 else _type_name(value))
    return "|".join(out)


def _function(fn: types.FunctionType, depth: int) -> str:
    return (f"function {_name_of(fn)} code={_code_digest(fn.__code__)} "
            f"defaults=({_defaults(fn)}) cells=({_cells(fn, depth)})")


def _describe(value: Any, depth: int = 0) -> str:
    """One attribute's fingerprint (see the module docstring)."""
    try:
        if isinstance(value, types.FunctionType):
            return _function(value, depth)
        if isinstance(value, types.MethodType):
            return f"method of {_type_name(value.__self__)}: {_describe(value.__func__, depth)}"
        if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            bound = value.__self__
            owner = "" if bound is None or isinstance(bound, types.ModuleType) \
                else f" of {_type_name(bound)}"
            return f"builtin {_name_of(value)}{owner}"
        if isinstance(value, type):
            return f"class {_name_of(value)}"
        if isinstance(value, types.ModuleType):
            name = _namespace(value).get("__name__", "?")
            same = sys.modules.get(str(name)) is value
            return f"module {name}" + ("" if same else " (not the one in sys.modules)")
        if isinstance(value, (staticmethod, classmethod)):
            return f"{type(value).__name__} {_describe(value.__func__, depth)}"
        if isinstance(value, property):
            return "property " + " ".join(
                _describe(f, depth) if f is not None else "-"
                for f in (value.fget, value.fset, value.fdel))
        if isinstance(value, functools.cached_property):
            return f"cached_property {_describe(value.func, depth)}"
        if isinstance(value, functools.partial):
            return f"partial {_describe(value.func, depth)}"
        if callable(value):
            wrapped = inspect.getattr_static(value, "__wrapped__", None)
            inner = f" wrapping {_describe(wrapped, depth + 1)}" \
                if wrapped is not None and depth < 2 else ""
            return f"callable {_type_name(value)}{inner}"
    except Exception as exc:  # a hostile or broken object: describe the failure itself
        return f"unreadable {type(exc).__name__}"
    return _DATA


def _members(cls: type, prefix: str, depth: int) -> Iterator[tuple[str, str]]:
    """``Class.member`` -> fingerprint for a class defined in the module being described."""
    for key, value in list(vars(cls).items()):
        label = f"{prefix}.{key}"
        described = _describe(value)
        if described == _DATA:
            continue
        if (isinstance(value, type) and depth < _CLASS_DEPTH and _is_own(value, cls.__module__)
                and value.__qualname__ == f"{cls.__qualname__}.{key}"):
            yield label, described
            yield from _members(value, label, depth + 1)
        else:
            yield label, described


def _is_own(cls: type, module: str) -> bool:
    return getattr(cls, "__module__", None) == module and bool(cls.__flags__ & _HEAPTYPE)


def _header(module: Any) -> str:
    own = _namespace(module) if isinstance(module, types.ModuleType) else {}
    return f"type={_type_name(module)} name={own.get('__name__')} file={own.get('__file__')}"


def _namespace(module: Any) -> dict[str, Any]:
    """A module's own attributes, read without calling its ``__getattr__`` (a lazy
    module would import on a miss)."""
    try:
        return dict(vars(module))
    except TypeError:
        return {}


def describe_module(name: str, module: Any) -> dict[str, str]:
    """Attribute (``name`` or ``Class.member``) -> fingerprint, for one module."""
    out = {"<module>": _header(module)}
    for key, value in _namespace(module).items():
        key = str(key)
        if isinstance(value, types.ModuleType) and sys.modules.get(f"{name}.{key}") is value:
            continue  # a submodule: there whenever it was imported, by anyone
        described = _describe(value)
        if described == _DATA:
            continue  # state, never compared (a callable replaced by data is then missing)
        out[key] = described
        if isinstance(value, type) and _is_own(value, name) and value.__qualname__ == key:
            out.update(_members(value, key, 1))
    return {k: v[:_DESC_MAX] for k, v in out.items()}


def _digest(described: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def _owned(server: WorkerServer, extension: str | None) -> tuple[tuple[str, ...], str | None]:
    """The extension's top-level package names and its root folder."""
    if not extension:
        return (), None
    cls = server.loaded(extension).cls
    top = str(cls.__module__).partition(".")[0]
    file = getattr(sys.modules.get(top), "__file__", None)
    root = None
    if file:
        package_dir = os.path.dirname(os.path.abspath(file))
        root = os.path.dirname(package_dir) if os.path.basename(file) == "__init__.py" \
            else package_dir
    return (top,), root


def _is_owned(name: str, tops: tuple[str, ...]) -> bool:
    """The extension's own package, by name. A module in its folder under another name is
    described all the same: the parent judges it (a standard name served from the
    extension's folder is a swapped module)."""
    return any(name == t or name.startswith(t + ".") for t in tops)


def _resolve(module: Any, keys: list[str]) -> None:
    """Look up ``keys`` a lazy module (one with its own ``__getattr__``) has not set yet, as
    using them would: a lazily set attribute is the library's, not a planted one."""
    own = _namespace(module)
    if "__getattr__" not in own:
        return
    for key in keys:
        if key not in own:
            try:
                getattr(module, key)
            except Exception:  # not one of its lazy attributes
                continue


def probe_fingerprint(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Fingerprints of loaded modules the extension does not own (see the docstring)."""
    tops, root = _owned(server, args.get("extension"))
    skipped: dict[str, str] = {}
    wanted = args.get("modules")
    if wanted is not None:
        for name in wanted:
            if name in sys.modules or name in _NEVER:
                continue
            try:
                importlib.import_module(name)
            except (Exception, SystemExit) as exc:  # it will not import here
                skipped[name] = f"not importable here: {type(exc).__name__}"
    for name, keys in (args.get("resolve") or {}).items():
        _resolve(sys.modules.get(name), keys)
    names = list(wanted) if wanted is not None else list(sys.modules)
    detail_of = set(args.get("detail") or ())
    modules: dict[str, dict[str, str]] = {}
    detail: dict[str, dict[str, str]] = {}
    owned: list[str] = []
    for name in names:
        module = sys.modules.get(name)
        if name in _NEVER or name in skipped:
            continue
        if module is None:
            skipped[name] = "not loaded"
            continue
        if _is_owned(name, tops):
            owned.append(name)
            continue
        described = describe_module(name, module)
        modules[name] = {"header": described["<module>"], "digest": _digest(described)}
        if name in detail_of:
            detail[name] = described
    return {"modules": modules, "skipped": skipped, "detail": detail, "owned": owned,
            "root": root}


PROBES = {"globals.fingerprint": probe_fingerprint}
