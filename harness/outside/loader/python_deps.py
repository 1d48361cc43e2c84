"""The Python packages an extension declares it needs, read statically.

An extension declares its dependencies the ordinary way: ``[project].dependencies`` in
the ``pyproject.toml`` beside ``extension.toml`` (a folder or an sdist), or
``Requires-Dist`` in the ``METADATA`` of the ``*.dist-info/`` a wheel ships. A lock,
``requirements.lock`` beside them (pip's requirements format, every line pinned
``name==version`` with ``--hash=sha256:...``, as ``uv pip compile --generate-hashes``
writes it), is optional; when present the environment is installed from it, hashes
required. Nothing here runs or imports anything; every error names the file and the
entry.
"""

from __future__ import annotations

import email.parser
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dufflebag_harness.outside.loader._errors import ManifestError

__all__ = ["LOCK_NAME", "LockedPin", "PythonDependencies", "read_python_dependencies"]

LOCK_NAME = "requirements.lock"
_MAX_BYTES = 1 << 20
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class LockedPin:
    """One line of the lock: ``name==version`` and the wheels' sha256 it accepts."""

    name: str
    version: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class PythonDependencies:
    """What the extension declares: requirement strings (PEP 508) that apply to this
    Python, where they were read (``source``), and the lock when there is one."""

    requirements: tuple[str, ...] = ()
    source: str = ""
    lock: tuple[LockedPin, ...] = ()
    lock_file: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Canonical project names of the declared requirements."""
        return tuple(sorted({canonicalize_name(Requirement(r).name) for r in self.requirements}))

    def __bool__(self) -> bool:
        return bool(self.requirements)


def _read_text(file: Path) -> str:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ManifestError(file, [("", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > _MAX_BYTES:
        raise ManifestError(file, [("", f"larger than {_MAX_BYTES} bytes")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(file, [("", f"not UTF-8 (byte {exc.start})")]) from None


def _checked(file: Path, where: str, items: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    problems: list[tuple[str, str]] = []
    for i, text in enumerate(items):
        field = f"{where}[{i}]"
        if not isinstance(text, str):
            problems.append((field, f"expected a requirement string, got {type(text).__name__}"))
            continue
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            problems.append((field, f"{text!r} is not a valid requirement: {exc}"))
            continue
        if req.url:
            problems.append((field, f"{text!r}: a direct reference (URL) cannot be resolved "
                                    "offline or pinned by hash; name a version and give the "
                                    "wheel with --find-links"))
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue  # for another Python or platform
        out.append(str(req))
    if problems:
        raise ManifestError(file, problems)
    return tuple(out)


def _from_pyproject(file: Path) -> tuple[str, ...]:
    try:
        data = tomllib.loads(_read_text(file))
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(file, [("", f"TOML syntax error: {exc}")]) from None
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise ManifestError(file, [("[project]", "expected a table")])
    deps = project.get("dependencies", [])
    if "dependencies" in project.get("dynamic", []):
        raise ManifestError(file, [("[project].dynamic", "dependencies must be listed in "
                                                         "[project].dependencies, not dynamic "
                                                         "(reading them would run the build)")])
    if not isinstance(deps, list):
        raise ManifestError(file, [("[project].dependencies", "expected a list of strings")])
    return _checked(file, "[project].dependencies", deps)


def _from_metadata(file: Path) -> tuple[str, ...]:
    message = email.parser.Parser().parsestr(_read_text(file), headersonly=True)
    return _checked(file, "Requires-Dist", [str(v) for v in message.get_all("Requires-Dist", [])])


def _lock(file: Path) -> tuple[LockedPin, ...]:
    text = _read_text(file).replace("\\\n", " ")
    pins: list[LockedPin] = []
    problems: list[tuple[str, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        hashes = tuple(_HASH.findall(line))
        if match is None:
            problems.append((f"line {n}", f"{line[:80]!r} is not pinned as name==version"))
        elif not hashes:
            problems.append((f"line {n}", f"{match.group(1)}: no --hash=sha256:... (a lock "
                                          "pins every wheel by its hash)"))
        else:
            pins.append(LockedPin(canonicalize_name(match.group(1)), match.group(3), hashes))
    if problems:
        raise ManifestError(file, problems)
    return tuple(pins)


def read_python_dependencies(root: Path) -> PythonDependencies:
    """The dependencies declared by the extension whose root is ``root``.

    ``pyproject.toml`` beside ``extension.toml`` first; else the ``METADATA`` of the one
    ``*.dist-info/`` a wheel ships; else none. The lock is read when present and must
    pin every declared requirement.
    """
    pyproject = root / "pyproject.toml"
    infos = sorted(root.glob("*.dist-info/METADATA"))
    if pyproject.is_file():
        requirements, source = _from_pyproject(pyproject), "pyproject.toml [project].dependencies"
    elif len(infos) == 1:
        requirements = _from_metadata(infos[0])
        source = f"{infos[0].relative_to(root)} Requires-Dist"
    else:
        requirements, source = (), ""
    lock_path = root / LOCK_NAME
    if not lock_path.is_file():
        return PythonDependencies(requirements, source)
    lock = _lock(lock_path)
    pinned = {p.name: p for p in lock}
    missing = [r for r in requirements if canonicalize_name(Requirement(r).name) not in pinned]
    wrong = [f"{r} (locked {pinned[canonicalize_name(Requirement(r).name)].version})"
             for r in requirements
             if canonicalize_name(Requirement(r).name) in pinned
             and not Requirement(r).specifier.contains(
                 pinned[canonicalize_name(Requirement(r).name)].version, prereleases=True)]
    if missing or wrong:
        raise ManifestError(lock_path, [("", f"does not pin {', '.join(missing)}")] * bool(missing)
                            + [("", f"pins outside the declaration: {', '.join(wrong)}")]
                            * bool(wrong))
    return PythonDependencies(requirements, source, lock, LOCK_NAME)
