"""``extension.toml``: read statically, validated precisely, never imported.

The signing process decides what an extension *claims* from this file alone,
so every field is checked here and every error names the file and the field
(``…/extension.toml: [extension].version: '1.x' is not a semantic version``).
The format is documented in ARCHITECTURE.md, "Extension layout".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dufflebag_harness.outside.loader._errors import ManifestError
from dufflebag_harness.outside.loader._names import collision, is_module_path
from dufflebag_harness.outside.loader._structure import structural_problems
from dufflebag_harness.outside.loader.python_deps import (
    PythonDependencies,
    read_python_dependencies,
)
from dufflebag_harness.sdk import (
    DEFAULT_CAPABILITIES,
    NAME_PATTERN,
    Capability,
    Metadata,
    Permission,
    Quotas,
)

__all__ = [
    "MANIFEST_NAME",
    "Capabilities",
    "Entry",
    "Manifest",
    "ManifestError",
    "PublicRoute",
    "Suite",
    "Waiver",
    "load_manifest",
]

MANIFEST_NAME = "extension.toml"
_MAX_BYTES = 1 << 20
_DEFAULT_HOST_API = Metadata(name="", version="").host_api
_DEFAULT_ACTIONS = Permission(name="", resource="").actions
# semver.org's reference expression.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_CHECK_ID = re.compile(r"^[A-Z]{2}-\d{2}$")
#: Methods a ``[[public_routes]]`` entry may name: the state-changing ones (a GET route
#: open to everyone needs no declaration).
PUBLIC_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_PUBLIC_HEADER = re.compile(r"^\s*\[\[\s*public_routes\s*\]\]")
_PUBLIC_FIELD = re.compile(r"^\[\[public_routes\]\]\[(\d+)\]")
_NETWORK = re.compile(
    r"^(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9*][A-Za-z0-9*.-]*):(?P<port>\*|\d{1,5})$"
)


class Entry(NamedTuple):
    """Where the extension class lives: ``module:attr`` (``analytics.extension:Analytics``).

    A named tuple, so ``module, attr = manifest.entry`` works too.
    """

    module: str
    attr: str

    @property
    def package(self) -> str:
        """The top-level package the worker imports from the extension root."""
        return self.module.split(".", 1)[0]

    def __str__(self) -> str:
        return f"{self.module}:{self.attr}"


@dataclass(frozen=True)
class Capabilities:
    """What the extension may touch beyond its database and storage (shown to the marketplace)."""

    network: tuple[str, ...] = ()
    filesystem: tuple[str, ...] = ()
    subprocess: bool = False

    def declared(self) -> frozenset[Capability]:
        """Default capabilities plus the ones this manifest declares."""
        extra = {
            Capability.NETWORK: bool(self.network),
            Capability.FILESYSTEM: bool(self.filesystem),
            Capability.SUBPROCESS: self.subprocess,
        }
        return DEFAULT_CAPABILITIES | {cap for cap, on in extra.items() if on}


@dataclass(frozen=True)
class Suite:
    """The extension's own tests (``paths``, relative to the root) and what coverage measures."""

    paths: tuple[str, ...]
    source: tuple[str, ...]


@dataclass(frozen=True)
class Waiver:
    """An advisory check the author asks to waive, with a reason, until ``expires``."""

    check: str
    reason: str
    expires: dt.date

    def active(self, today: dt.date) -> bool:
        """Whether the waiver still applies on ``today`` (the expiry day included)."""
        return today <= self.expires

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason, "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class PublicRoute:
    """A state-changing route the author declares open to anonymous callers, and why.

    ``path`` is the route's path as registered with the router (relative to the
    extension's prefix, parameters as written: ``/feedback/{item_id}``). Anything
    not declared must refuse anonymous writes (check AU-06); the declarations and
    their reasons are shown to the marketplace in the report.
    """

    method: str
    path: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"method": self.method, "path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class Manifest:
    """Everything ``extension.toml`` declares. ``root`` is the folder holding it."""

    name: str
    version: str
    entry: Entry
    root: Path
    path: Path
    description: str = ""
    author: str = ""
    license: str = ""
    homepage: str = ""
    host_api: str = _DEFAULT_HOST_API
    tags: tuple[str, ...] = ()
    dependencies: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    capabilities: Capabilities = field(default_factory=Capabilities)
    permissions: tuple[Permission, ...] = ()
    quotas: Quotas = field(default_factory=Quotas)
    tests: Suite = field(default_factory=lambda: Suite(("tests",), ()))
    waivers: tuple[Waiver, ...] = ()
    public_routes: tuple[PublicRoute, ...] = ()
    #: The Python packages it declares (``pyproject.toml`` or its wheel's ``METADATA``).
    python_dependencies: PythonDependencies = field(default_factory=PythonDependencies)
    #: The environment its code runs in, once ``certify`` built it
    #: (:class:`dufflebag_harness.outside.environments.PythonEnvironment`); None: the
    #: harness's own.
    environment: Any = None

    def metadata(self) -> Metadata:
        """The :class:`~dufflebag_harness.sdk.Metadata` the code must declare to agree with
        this file."""
        return Metadata(
            name=self.name,
            version=self.version,
            description=self.description,
            author=self.author,
            license=self.license,
            homepage=self.homepage,
            host_api=self.host_api,
            dependencies=dict(self.dependencies),
            tags=self.tags,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for the report; local paths (``root``, ``path``) are left out."""
        return {
            "name": self.name,
            "version": self.version,
            "entry": str(self.entry),
            "description": self.description,
            "author": self.author,
            "license": self.license,
            "homepage": self.homepage,
            "host_api": self.host_api,
            "tags": list(self.tags),
            "dependencies": dict(sorted(self.dependencies.items())),
            "capabilities": {
                "network": list(self.capabilities.network),
                "filesystem": list(self.capabilities.filesystem),
                "subprocess": self.capabilities.subprocess,
            },
            "permissions": [
                {"name": p.name, "resource": p.resource, "actions": list(p.actions)}
                for p in self.permissions
            ],
            "quotas": {f.name: getattr(self.quotas, f.name) for f in fields(self.quotas)},
            "tests": {"paths": list(self.tests.paths), "source": list(self.tests.source)},
            "waivers": [w.to_json() for w in self.waivers],
            "public_routes": [r.to_json() for r in self.public_routes],
        }


def load_manifest(path: Path) -> Manifest:
    """Read and validate ``extension.toml`` (``path``: the extension folder or the file).

    Never imports the extension: the entry's package is checked to exist as a
    file or folder only. Raises :class:`ManifestError` listing every problem.
    """
    path = Path(path)
    file = path / MANIFEST_NAME if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise ManifestError(path, [("", f"no {MANIFEST_NAME} in {path}")])
    data, text = _read_toml(file)
    problems = structural_problems(data)
    if problems:
        raise ManifestError(file, _with_lines(problems, text))
    builder = _Builder(file, data)
    manifest = builder.build()
    if builder.problems:
        raise ManifestError(file, _with_lines(sorted(set(builder.problems)), text))
    return dataclasses.replace(manifest,
                               python_dependencies=read_python_dependencies(manifest.root))


def _with_lines(problems: list[tuple[str, str]], text: str) -> list[tuple[str, str]]:
    """``problems`` with the line of the ``[[public_routes]]`` header each one is about
    (``[[public_routes]][1].reason (line 23)``), so a long manifest's entry is found."""
    headers = [n for n, line in enumerate(text.splitlines(), 1) if _PUBLIC_HEADER.match(line)]
    out = []
    for name, message in problems:
        match = _PUBLIC_FIELD.match(name)
        if match and int(match[1]) < len(headers):
            name = f"{name} (line {headers[int(match[1])]})"
        out.append((name, message))
    return out


def _read_toml(file: Path) -> tuple[dict[str, Any], str]:
    if file.suffix in {".whl", ".gz", ".tgz", ".zip"}:
        raise ManifestError(file, [("", "is an archive: materialize() it, then load the folder")])
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ManifestError(file, [("", "no such file")]) from None
    except OSError as exc:
        raise ManifestError(file, [("", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > _MAX_BYTES:
        raise ManifestError(file, [("", f"larger than {_MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
        return tomllib.loads(text), text
    except UnicodeDecodeError as exc:
        raise ManifestError(file, [("", f"not UTF-8 (byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(file, [("", f"TOML syntax error: {exc}")]) from None


class _Builder:
    """Turns structurally valid data into a :class:`Manifest`, collecting meaning errors."""

    def __init__(self, file: Path, data: dict[str, Any]) -> None:
        self.file = file
        self.root = file.parent
        self.data = data
        self.problems: list[tuple[str, str]] = []

    def fail(self, name: str, message: str) -> None:
        self.problems.append((name, message))

    def build(self) -> Manifest:
        ext = self.data["extension"]
        entry = self._entry(ext["entry"])
        tests = self.data.get("tests", {})
        return Manifest(
            name=self._name(ext["name"]),
            version=self._version(ext["version"]),
            entry=entry,
            root=self.root,
            path=self.file,
            description=ext.get("description", ""),
            author=ext.get("author", ""),
            license=self._license(ext.get("license", "")),
            homepage=self._homepage(ext.get("homepage", "")),
            host_api=self._host_api(ext.get("host_api", _DEFAULT_HOST_API)),
            tags=tuple(ext.get("tags", ())),
            dependencies=self._dependencies(self.data.get("dependencies", {}), ext["name"]),
            capabilities=self._capabilities(self.data.get("capabilities", {})),
            permissions=self._permissions(self.data.get("permissions", [])),
            quotas=self._quotas(self.data.get("quotas", {})),
            tests=Suite(
                paths=self._test_paths(tests.get("paths")),
                source=self._sources(tests.get("source", [entry.package])),
            ),
            waivers=self._waivers(self.data.get("waivers", [])),
            public_routes=self._public_routes(self.data.get("public_routes", [])),
        )

    def _name(self, name: str) -> str:
        if not NAME_PATTERN.match(name):
            self.fail("[extension].name", f"{name!r} does not match {NAME_PATTERN.pattern}")
        return name

    def _version(self, version: str) -> str:
        if not _SEMVER.match(version):
            self.fail("[extension].version", f"{version!r} is not a semantic version")
            return version
        try:
            Version(version)
        except InvalidVersion:
            self.fail(
                "[extension].version",
                f"{version!r} cannot be compared by dependency specifiers (PEP 440)",
            )
        return version

    def _entry(self, text: str) -> Entry:
        module, sep, attr = text.partition(":")
        if not sep or not is_module_path(module) or not is_module_path(attr) or "." in attr:
            self.fail("[extension].entry", f"expected 'package.module:Class', got {text!r}")
            return Entry(module or "?", attr or "?")
        entry = Entry(module, attr)
        reason = collision(entry.package)
        if reason:
            self.fail("[extension].entry", f"top-level package {reason}; rename it")
            return entry
        self._module_exists("[extension].entry", module)
        return entry

    def _module_exists(self, name: str, module: str) -> None:
        parts = module.split(".")
        top = self.root / parts[0]
        if not ((top / "__init__.py").is_file() or top.with_suffix(".py").is_file()):
            self.fail(
                name,
                f"package {parts[0]!r} not found in {self.root} "
                f"(looked for {parts[0]}/__init__.py and {parts[0]}.py)",
            )
            return
        if len(parts) > 1:
            base = self.root.joinpath(*parts)
            if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
                rel = "/".join(parts)
                self.fail(name, f"module {module!r} not found (looked for {rel}.py)")

    def _license(self, text: str) -> str:
        if text:
            try:
                canonicalize_license_expression(text)
            except InvalidLicenseExpression as exc:
                self.fail("[extension].license", f"{text!r} is not an SPDX expression: {exc}")
        return text

    def _homepage(self, text: str) -> str:
        if text:
            parts = urlsplit(text)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                self.fail("[extension].homepage", f"{text!r} is not an http(s) URL")
        return text

    def _specifier(self, name: str, text: str) -> None:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            self.fail(name, f"invalid version specifier {text!r}")
            return
        if not text.strip():
            self.fail(name, "invalid version specifier '' (empty; write e.g. '>=1.0,<2')")

    def _host_api(self, text: str) -> str:
        self._specifier("[extension].host_api", text)
        return text

    def _dependencies(self, deps: dict[str, str], own: str) -> Mapping[str, str]:
        for dep, spec in deps.items():
            name = f"[dependencies].{dep}"
            if not NAME_PATTERN.match(dep):
                self.fail(name, f"{dep!r} is not an extension name ({NAME_PATTERN.pattern})")
            elif dep == own:
                self.fail(name, "an extension cannot depend on itself")
            self._specifier(name, spec)
        return MappingProxyType(dict(deps))

    def _capabilities(self, caps: dict[str, Any]) -> Capabilities:
        network = tuple(caps.get("network", ()))
        for i, pattern in enumerate(network):
            match = _NETWORK.match(pattern)
            if not match or (match["port"] != "*" and not 0 < int(match["port"]) < 65536):
                self.fail(f"[capabilities].network[{i}]", f"{pattern!r} is not 'host:port'")
        filesystem = tuple(caps.get("filesystem", ()))
        for i, prefix in enumerate(filesystem):
            pure = PurePosixPath(prefix)
            if not pure.is_absolute() or ".." in pure.parts or "\0" in prefix:
                self.fail(
                    f"[capabilities].filesystem[{i}]",
                    f"{prefix!r} must be an absolute path without '..'",
                )
        return Capabilities(network, filesystem, bool(caps.get("subprocess", False)))

    def _quotas(self, quotas: dict[str, Any]) -> Quotas:
        values = dict(quotas)
        if "request_timeout_s" in values:
            values["request_timeout_s"] = float(values["request_timeout_s"])
        return Quotas(**values)

    def _permissions(self, items: list[dict[str, Any]]) -> tuple[Permission, ...]:
        seen: set[str] = set()
        out = []
        for i, item in enumerate(items):
            if item["name"] in seen:
                self.fail(f"[[permissions]][{i}].name", f"duplicate permission {item['name']!r}")
            seen.add(item["name"])
            actions = tuple(item.get("actions", _DEFAULT_ACTIONS))
            out.append(Permission(item["name"], item["resource"], actions))
        return tuple(out)

    def _test_paths(self, paths: list[str] | None) -> tuple[str, ...]:
        if paths is None:
            return ("tests",)
        for i, rel in enumerate(paths):
            pure = PurePosixPath(rel)
            if pure.is_absolute() or ".." in pure.parts or "\\" in rel or "\0" in rel:
                self.fail(f"[tests].paths[{i}]", f"{rel!r} must be relative, inside the root")
            elif not (self.root / rel).exists():
                self.fail(f"[tests].paths[{i}]", f"{rel!r} does not exist in {self.root}")
        return tuple(paths)

    def _sources(self, sources: list[str]) -> tuple[str, ...]:
        for i, module in enumerate(sources):
            name = f"[tests].source[{i}]"
            if not is_module_path(module):
                self.fail(name, f"{module!r} is not a module name")
            elif reason := collision(module.split(".", 1)[0]):
                self.fail(name, f"{reason}; coverage would measure the wrong code")
        return tuple(sources)

    def _waivers(self, items: list[dict[str, Any]]) -> tuple[Waiver, ...]:
        seen: set[str] = set()
        out = []
        for i, item in enumerate(items):
            check = item["check"]
            if not _CHECK_ID.match(check):
                self.fail(f"[[waivers]][{i}].check", f"{check!r} is not a check ID like 'PE-02'")
            elif check in seen:
                self.fail(f"[[waivers]][{i}].check", f"{check} is waived twice")
            seen.add(check)
            out.append(Waiver(check, item["reason"], item["expires"]))
        return tuple(out)

    def _public_routes(self, items: list[dict[str, Any]]) -> tuple[PublicRoute, ...]:
        seen: set[tuple[str, str]] = set()
        out = []
        for i, item in enumerate(items):
            where = f"[[public_routes]][{i}]"
            method, path, reason = item["method"].upper(), item["path"], item["reason"].strip()
            if method not in PUBLIC_METHODS:
                self.fail(f"{where}.method", f"{item['method']!r} is not one of "
                          f"{', '.join(PUBLIC_METHODS)} (only state-changing routes are declared)")
            pure = PurePosixPath(path)
            if (not path.startswith("/") or ".." in pure.parts or "//" in path
                    or "\\" in path or "?" in path or "#" in path):
                self.fail(f"{where}.path", f"{path!r} must be a route path as registered, "
                          "starting with '/' (e.g. '/feedback'), without '..', '?' or '#'")
            elif path == "/ext" or path.startswith("/ext/"):
                self.fail(f"{where}.path", f"{path!r}: write the path as registered, without "
                          "the '/ext/<name>' prefix")
            if not reason:
                self.fail(f"{where}.reason", "must say why anonymous callers may use it")
            if (method, path) in seen:
                self.fail(where, f"{method} {path} is declared twice")
            seen.add((method, path))
            out.append(PublicRoute(method, path, reason))
        return tuple(out)
