"""SE-07's comparison: the modules of the extension's worker against a clean worker's.

The worker probe ``globals.fingerprint`` describes every loaded module the
extension does not own, attribute by attribute (kind, qualified name, module,
code digest; classes defined in the module member by member; plain data left
out — see ``harness/inside/worker/_globals_probes.py``). The clean reference
worker describes the same modules, importing those it has not loaded yet. This
module asks both, first for one digest per module, then — for the modules whose
digests differ — for the attribute lists, and names what differs.

Rules (the conservative side: a difference must be one a library never makes on
its own):

* an attribute whose fingerprint differs is reported (a function with other code
  or from another module, a class method replaced, a builtin replaced by a
  Python function, a module attribute that is not the module ``sys.modules``
  holds, ...);
* an attribute the clean worker has and the extension's worker does not is
  reported: deleted, or replaced by plain data;
* an attribute only the extension's worker has is reported when it is a
  function, method, builtin or class (something was planted in a module it does
  not own); new plain data is state (a cache, a counter) and never compared. A
  module with its own ``__getattr__`` sets attributes lazily when they are first
  used: the clean worker looks each such name up first, so only what the module
  itself would not provide counts as added;
* a module whose object is not the one a clean interpreter imports under that
  name (another type, no file, or a file in the extension's folder) is reported as
  swapped; a module loaded from a different file in each worker (a package of the
  extension's own environment) cannot be compared and is counted, not judged;
* modules the clean worker cannot import (the extension's own dependencies) are
  counted, not judged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Difference", "GlobalsDiff", "compare", "header_problem"]

#: Modules whose attribute lists are asked for at once (a reply holds at most 1 MiB).
DETAIL_BATCH = 4
#: Differing modules described attribute by attribute, at most.
DETAIL_MAX = 48
#: The fingerprint kinds of things that are code (reported when planted).
_CODE_KINDS = ("function ", "method ", "builtin ", "class ", "callable ", "partial ",
               "staticmethod ", "classmethod ", "property ", "cached_property ")

Probe = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Difference:
    """One module attribute that is not what a clean interpreter has."""

    module: str
    attribute: str
    kind: str  # changed | missing | added | swapped
    clean: str | None
    now: str | None

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "attribute": self.attribute, "kind": self.kind,
                "clean": _cut(self.clean), "with_extension": _cut(self.now)}

    def __str__(self) -> str:
        where = self.module if self.attribute == "<module>" else f"{self.module}.{self.attribute}"
        if self.kind == "missing":
            return f"{where} is gone or no longer code (clean: {self.clean})"
        if self.kind == "added":
            return f"{where} was added ({self.now})"
        if self.kind == "swapped":
            return f"sys.modules[{self.module!r}] is another object ({self.now})"
        return f"{where} was replaced ({self.now}; clean: {self.clean})"


def _cut(text: str | None, most: int = 120) -> str | None:
    return text if text is None or len(text) <= most else text[:most - 1] + "…"


@dataclass
class GlobalsDiff:
    """What one comparison found, and what it could not compare."""

    differences: list[Difference] = field(default_factory=list)
    compared: int = 0
    not_importable: list[str] = field(default_factory=list)
    other_file: list[str] = field(default_factory=list)
    undescribed: list[str] = field(default_factory=list)


def _field(header: str, name: str) -> str:
    for part in header.split(" "):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return ""


def header_problem(clean: str, now: str, root: str) -> str | None:
    """``"swapped"`` when the module object is not what a clean interpreter imports,
    ``"other_file"`` when each worker loaded it from its own file, ``None`` when equal."""
    if clean == now:
        return None
    now_file, clean_file = _field(now, "file"), _field(clean, "file")
    if (_field(now, "type") != _field(clean, "type") or now_file in ("", "None")
            or (root and now_file.startswith(root.rstrip("/") + "/"))
            or _field(now, "name") != _field(clean, "name")):
        return "swapped"
    return "other_file" if clean_file not in ("", "None") else "swapped"


def _is_code(fingerprint: str) -> bool:
    return fingerprint.startswith(_CODE_KINDS)


def attribute_differences(module: str, clean: Mapping[str, str],
                          now: Mapping[str, str]) -> list[Difference]:
    """The rules of the module docstring, for one module's attribute lists."""
    out = []
    for key in sorted(set(clean) | set(now)):
        if key == "<module>":
            continue
        c, n = clean.get(key), now.get(key)
        if c == n:
            continue
        if c is not None and n is not None:
            out.append(Difference(module, key, "changed", c, n))
        elif c is not None:
            out.append(Difference(module, key, "missing", c, None))
        elif n is not None and _is_code(n) and not n.startswith("module "):
            out.append(Difference(module, key, "added", None, n))
    return out


def _batches(names: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(names), DETAIL_BATCH):
        yield list(names[i:i + DETAIL_BATCH])


def compare(now: Mapping[str, Any], own: Probe, clean: Probe, root: str) -> GlobalsDiff:
    """Compare the extension's worker's fingerprints ``now`` with the clean worker's.

    ``own`` and ``clean`` run ``globals.fingerprint`` in the extension's worker and in
    the reference worker; ``root`` is the extension's folder as the worker sees it
    (a module file there is the extension's, whatever name it sits under).
    """
    names = list(now["modules"])
    ref = clean(modules=names)
    out = GlobalsDiff(not_importable=sorted(ref["skipped"]))
    differing = []
    for name in names:
        theirs, ours = ref["modules"].get(name), now["modules"][name]
        if theirs is None:
            continue
        problem = header_problem(theirs["header"], ours["header"], root)
        if problem == "other_file":
            out.other_file.append(name)
            continue
        out.compared += 1
        if problem == "swapped":
            out.differences.append(Difference(name, "<module>", "swapped",
                                              theirs["header"], ours["header"]))
        elif theirs["digest"] != ours["digest"]:
            differing.append(name)
    out.undescribed = differing[DETAIL_MAX:]
    for batch in _batches(differing[:DETAIL_MAX]):
        mine = own(modules=batch, detail=batch)["detail"]
        resolve = {name: sorted({k.partition(".")[0] for k in mine.get(name, {})} - {"<module>"})
                   for name in batch}
        base = clean(modules=batch, detail=batch, resolve=resolve)["detail"]
        for name in batch:
            if name in mine and name in base:
                out.differences += attribute_differences(name, base[name], mine[name])
    return out
