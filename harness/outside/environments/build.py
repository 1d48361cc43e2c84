"""Resolve, install and cache the environment of one extension's dependencies.

Nothing here imports or runs dependency code: resolution reads metadata, wheels are
unpacked by the installer (``uv``, else pip) with building refused (``--no-build`` /
``--only-binary :all:``), and what got installed is read from its ``*.dist-info`` files.

Layout of a built environment (``<cache>/envs/<key>/``): a venv of the harness's
interpreter (``bin/python``, ``pyvenv.cfg``) whose site-packages holds the dependencies
and ``_dufflebag_harness.pth``, which adds the harness's own site folders *after* it;
``dufflebag-env.json`` records what is in it. The key is the sha256 of the resolved set
(with the interpreter and the harness's own packages), so the same declaration resolved
the same way reuses the folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.parser
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from dufflebag_harness.outside.loader import PythonDependencies

__all__ = [
    "BuildOptions",
    "DependencyError",
    "Distribution",
    "PythonEnvironment",
    "build_environment",
    "cache_dir",
    "harness_distributions",
]

RECORD_NAME = "dufflebag-env.json"
PTH_NAME = "_dufflebag_harness.pth"
#: Written into the harness's distributions' stand-ins while resolving with uv.
_STAND_IN = "dufflebag-harness-stand-in"
_TIMEOUT_S = 900
#: What a cached environment's record holds and how it is read: bump it when that changes.
_FORMAT = 3
_WOULD_INSTALL = re.compile(r"^\s*\+\s*([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*$")


class DependencyError(Exception):
    """The declared dependencies cannot be installed: the message names what and where."""


@dataclass(frozen=True)
class BuildOptions:
    """Where packages may come from."""

    #: Folders of wheels (``--find-links``), searched before (or instead of) the index.
    find_links: Sequence[Path] = ()
    #: Use no package index: only ``find_links`` (and a lock's pins from them).
    no_index: bool = False
    #: The cache folder (default :func:`cache_dir`).
    cache: Path | None = None


@dataclass(frozen=True)
class Distribution:
    """One installed dependency, as its ``*.dist-info`` says."""

    name: str
    version: str
    #: SPDX expression (``License-Expression``, else a recognised ``License``/classifier),
    #: or ``""`` when the package states none the harness can read.
    licence: str
    top_level: tuple[str, ...]
    #: Declared by the extension itself (else pulled in by another dependency).
    direct: bool
    #: sha256 of the wheel installed, when known (a wheelhouse file or the lock's pin).
    wheel_sha256: str = ""
    #: Files of the distribution, relative to site-packages (from its RECORD).
    files: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["top_level"] = list(self.top_level)
        out["licence"] = self.licence or "NOASSERTION"
        out.pop("files")
        return out


@dataclass(frozen=True)
class PythonEnvironment:
    """A built environment: what the worker and the test run use."""

    path: Path
    key: str
    python: str
    site_packages: Path
    distributions: tuple[Distribution, ...]
    requirements: tuple[str, ...]
    source: str
    locked: bool
    tool: str
    reused: bool
    build_s: float
    #: Where packages could come from, as the report says it.
    origin: str = ""
    #: sdists built into wheels in the sandbox for it (file names).
    built_in_sandbox: tuple[str, ...] = ()
    harness_packages: dict[str, str] = field(default_factory=dict)
    #: Top-level modules of the declared dependencies -> distribution (SE-03 allows them),
    #: whether installed here or provided by the harness.
    declared_modules: dict[str, str] = field(default_factory=dict)
    #: Top-level modules of what is installed here but not declared -> distribution.
    installed_modules: dict[str, str] = field(default_factory=dict)
    #: The marketplace's licence policy and its verdicts (``--licence-policy``), or None.
    licence_policy: dict[str, Any] | None = None
    #: The known-vulnerability scan of the resolved set (source, findings or why skipped).
    vulnerabilities: dict[str, Any] | None = None

    def top_levels(self) -> dict[str, str]:
        """Top-level module name -> the distribution that provides it."""
        return {mod: d.name for d in self.distributions for mod in d.top_level}

    def report_section(self) -> dict[str, Any]:
        """The report's ``dependencies`` section (no local paths); ``sbom`` is added when
        the report is assembled."""
        return {
            "environment": {
                "key": self.key, "tool": self.tool, "reused": self.reused,
                "build_s": round(self.build_s, 3), "source": self.source,
                "locked": self.locked, "origin": self.origin,
                "requirements": list(self.requirements),
                "built_in_sandbox": list(self.built_in_sandbox)},
            "packages": [d.to_json() for d in self.distributions],
            "licence_policy": self.licence_policy,
            "vulnerabilities": self.vulnerabilities,
        }


def cache_dir() -> Path:
    """``DUFFLEBAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/dufflebag-harness``, else
    ``~/.cache/dufflebag-harness``."""
    given = os.environ.get("DUFFLEBAG_CACHE_DIR")
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg if xdg else Path.home() / ".cache") / "dufflebag-harness"


# -- the harness's own side -------------------------------------------------------------
def harness_site_dirs() -> list[str]:
    """The harness's site folders, as this interpreter has them (``.pth`` files in them
    are processed in the environment too: an editable install keeps working)."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    out: list[str] = []
    for d in dirs:
        real = os.path.realpath(d)
        if os.path.isdir(real) and real not in out:
            out.append(real)
    return out


_NAME = re.compile(r"^Name:\s*(.+?)\s*$", re.M)


def _harness_metadata() -> dict[str, tuple[str, str]]:
    """canonical name -> (version, METADATA text) of every distribution the harness's
    interpreter sees (the first on the path wins, as for imports)."""
    found: dict[str, tuple[str, str]] = {}
    for dist in importlib.metadata.distributions():
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        head = text.split("\n\n", 1)[0]
        match = _NAME.search(head)
        if match and canonicalize_name(match.group(1)) not in found:
            found[canonicalize_name(match.group(1))] = (dist.version, text)
    return found


def harness_distributions() -> dict[str, str]:
    """Every distribution the harness's interpreter sees: canonical name -> version."""
    return {name: version for name, (version, _) in _harness_metadata().items()}


def _conflicts(deps: PythonDependencies, harness: dict[str, str]) -> None:
    """A declared requirement (or locked pin) the harness's own version does not meet."""
    for text in deps.requirements:
        req = Requirement(text)
        have = harness.get(canonicalize_name(req.name))
        if have is not None and not req.specifier.contains(have, prereleases=True):
            raise DependencyError(
                f"{deps.source}: {text!r} conflicts with the harness: it runs "
                f"{canonicalize_name(req.name)} {have}, which does not satisfy "
                f"{req.specifier} (the harness's own packages always win; widen the range "
                f"to include {have})")
    for pin in deps.lock:
        have = harness.get(pin.name)
        if have is not None and have != pin.version:
            raise DependencyError(
                f"{deps.lock_file}: {pin.name}=={pin.version} conflicts with the harness: it "
                f"runs {pin.name} {have} (lock that version, the harness's own packages "
                "always win)")


# -- tools ------------------------------------------------------------------------------
def _uv() -> str | None:
    with contextlib.suppress(ImportError, FileNotFoundError):
        from uv import find_uv_bin

        return str(find_uv_bin())
    return shutil.which("uv")


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT_S,
                              env={**os.environ, **(env or {})}, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(f"{what}: {argv[0]} could not run: {exc}") from None
    if done.returncode != 0:
        raise DependencyError(f"{what} failed: {_explain(done.stderr or done.stdout)}")
    return done.stdout + done.stderr


def _explain(output: str) -> str:
    """The installer's own words, trimmed, with what building would mean said plainly."""
    text = "\n".join(line for line in output.strip().splitlines()
                     if not line.startswith(("Using Python", "Resolved", "Audited")))
    lowered = text.lower()
    if any(hint in lowered for hint in ("no-build", "no binary distribution", "only-binary",
                                        "not available as a wheel", "has no wheel")):
        text += ("\n(only wheels are installed here: a package without one is built in the "
                 "sandbox, and only from its sdist in a --find-links folder; put its wheel or "
                 "its sdist there)")
    return text[-2000:]


# -- the environment --------------------------------------------------------------------
def _make_venv(path: Path, uv: str | None) -> Path:
    if uv is not None:
        _run([uv, "venv", "--quiet", "--no-project", "--python", sys.executable, str(path)],
             "creating the environment", {"UV_PYTHON_DOWNLOADS": "never"})
    else:
        _run([sys.executable, "-m", "venv", "--without-pip", str(path)],
             "creating the environment")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    sp = path / "lib" / version / "site-packages"
    if not sp.is_dir():
        raise DependencyError(f"creating the environment: no {sp}")
    # the harness's own folders come after the environment's: its packages are found
    # there (nothing the environment installs shares a name with them, see _check_installed)
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in harness_site_dirs())
    (sp / PTH_NAME).write_text(lines)
    return sp


def _stand_ins(sp: Path, metadata: dict[str, tuple[str, str]]) -> None:
    """The harness's distributions as uv sees installed ones (their METADATA only), so
    it resolves against them and never installs them again. Removed before use."""
    for name, (version, text) in metadata.items():
        folder = sp / f"{name.replace('-', '_')}-{version}.dist-info"
        if folder.exists():
            continue
        folder.mkdir()
        (folder / "METADATA").write_text(text)
        (folder / "INSTALLER").write_text(_STAND_IN + "\n")
        (folder / "RECORD").write_text("")


def _sources(opts: BuildOptions, uv: bool) -> list[str]:
    args: list[str] = []
    for folder in opts.find_links:
        if not Path(folder).is_dir():
            raise DependencyError(f"--find-links {folder}: no such folder")
        args += ["--find-links", str(Path(folder).resolve())]
    if opts.no_index:
        args.append("--no-index")
    args += ["--no-build"] if uv else ["--only-binary", ":all:"]
    return args


def _resolve(python: str, deps: PythonDependencies, harness: dict[str, str],
             opts: BuildOptions, uv: str | None, work: Path) -> dict[str, str]:
    """The set to install (canonical name -> version), the harness's own left out."""
    if deps.lock:
        return {p.name: p.version for p in deps.lock if p.name not in harness}
    reqs, cons = work / "requirements.txt", work / "constraints.txt"
    reqs.write_text("".join(r + "\n" for r in deps.requirements))
    cons.write_text("".join(f"{n}=={v}\n" for n, v in sorted(harness.items())))
    what = f"resolving {deps.source} ({', '.join(deps.requirements)})"
    if uv is not None:
        try:
            out = _run([uv, "pip", "install", "--dry-run", "--python", python,
                        *_sources(opts, True), "-c", str(cons), "-r", str(reqs)], what,
                       _uv_env(opts))
        except DependencyError as exc:
            own = sorted({f"{n}=={v}" for n, v in harness.items()
                          if re.search(rf"(?<![\w.-]){re.escape(n)}==", str(exc))})
            if own:
                raise DependencyError(f"{exc}\n({', '.join(own)}: the harness's own, which "
                                      "always wins)") from None
            raise
        return {canonicalize_name(m.group(1)): m.group(2)
                for line in out.splitlines() if (m := _WOULD_INSTALL.match(line))}
    report = work / "report.json"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--dry-run", "--quiet",
          "--report", str(report), *_sources(opts, False), "-c", str(cons), "-r", str(reqs)],
         what)
    items = json.loads(report.read_text()).get("install", [])
    return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def _uv_env(opts: BuildOptions) -> dict[str, str]:
    return {"UV_CACHE_DIR": str((opts.cache or cache_dir()) / "uv"),
            "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"}


def _wheel_hashes(find_links: Sequence[Path]) -> dict[tuple[str, str], str]:
    """sha256 of every wheel in the wheelhouses, by (canonical name, version)."""
    out: dict[tuple[str, str], str] = {}
    for folder in find_links:
        for wheel in sorted(Path(folder).glob("*.whl")):
            with contextlib.suppress(ValueError):
                name, version, _, _ = parse_wheel_filename(wheel.name)
                out.setdefault((name, str(version)),
                               hashlib.sha256(wheel.read_bytes()).hexdigest())
    return out


def _sdist_hashes(find_links: Sequence[Path]) -> list[str]:
    """``file sha256`` of every sdist in the wheelhouses (what a build would start from)."""
    return [f"{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}"
            for folder in find_links for p in sorted(Path(folder).iterdir())
            if p.name.endswith((".tar.gz", ".zip"))]


def _key(resolved: dict[str, str], hashes: dict[str, str], harness: dict[str, str]) -> str:
    body = {"format": _FORMAT, "python": [sys.version, os.path.realpath(sys.executable)],
            "harness": harness, "site": harness_site_dirs(),
            "resolved": sorted(f"{n}=={v} {hashes.get(n, '')}" for n, v in resolved.items())}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _install(python: str, sp: Path, deps: PythonDependencies, resolved: dict[str, str],
             hashes: dict[str, str], opts: BuildOptions, uv: str | None, work: Path) -> None:
    pins = work / "pins.txt"
    complete = all(n in hashes for n in resolved)
    lines = []
    for name, version in sorted(resolved.items()):
        locked = next((p.hashes for p in deps.lock if p.name == name), ())
        accepted = locked or ((hashes[name],) if complete else ())
        lines.append(f"{name}=={version}" + "".join(f" --hash=sha256:{h}" for h in accepted))
    pins.write_text("\n".join(lines) + "\n")
    what = f"installing {', '.join(lines) if len(lines) < 6 else f'{len(lines)} packages'}"
    hashed = ["--require-hashes"] if complete or deps.lock else []
    if uv is not None:
        _run([uv, "pip", "install", "--python", python, "--no-deps", "--link-mode", "copy",
              *hashed, *_sources(opts, True), "-r", str(pins)], what,
             _uv_env(opts))
    else:
        _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
              "--no-deps", *hashed, *_sources(opts, False), "-r", str(pins)], what)
    for folder in sp.glob("*.dist-info"):
        installer = folder / "INSTALLER"
        if installer.is_file() and installer.read_text().strip() == _STAND_IN:
            shutil.rmtree(folder)


def _licence(meta: Any) -> str:
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    for text in (meta.get("License-Expression"), meta.get("License")):
        if text and len(text) < 200:
            with contextlib.suppress(InvalidLicenseExpression):
                return str(canonicalize_license_expression(text.strip()))
    classifiers = {
        "License :: OSI Approved :: MIT License": "MIT",
        "License :: OSI Approved :: BSD License": "BSD-3-Clause",
        "License :: OSI Approved :: Apache Software License": "Apache-2.0",
        "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
        "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
        "License :: OSI Approved :: ISC License (ISCL)": "ISC",
        "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
        "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)":
            "LGPL-3.0-only",
        "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)":
            "GPL-2.0-or-later",
        "License :: OSI Approved :: Artistic License": "Artistic-1.0",
    }
    found = [classifiers[v] for v in meta.get_all("Classifier") or [] if v in classifiers]
    # several licence classifiers: the package is offered under each (a disjunction)
    return " OR ".join(dict.fromkeys(found))


def read_installed(sp: Path, direct: set[str],
                   hashes: dict[str, str]) -> tuple[Distribution, ...]:
    """What ``sp`` holds, read from the ``*.dist-info`` files only (nothing imported)."""
    out = []
    for folder in sorted(sp.glob("*.dist-info")):
        meta = email.parser.Parser().parsestr((folder / "METADATA").read_text("utf-8",
                                                                               "replace"),
                                              headersonly=True)
        name = canonicalize_name(meta.get("Name", folder.name.split("-")[0]))
        record = folder / "RECORD"
        files = tuple(line.split(",")[0] for line in
                      (record.read_text("utf-8", "replace").splitlines()
                       if record.is_file() else []) if line)
        top = folder / "top_level.txt"
        if top.is_file():
            tops = {t.strip() for t in top.read_text().splitlines() if t.strip()}
        else:
            tops = {f.split("/")[0].removesuffix(".py") for f in files
                    if f and not f.split("/")[0].endswith((".dist-info", ".data"))
                    and not f.startswith("..") and (f.endswith(".py") or "/" in f)}
        out.append(Distribution(name=name, version=str(meta.get("Version", "")),
                                licence=_licence(meta), top_level=tuple(sorted(tops)),
                                direct=name in direct, wheel_sha256=hashes.get(name, ""),
                                files=files))
    return tuple(out)


def _check_installed(dists: Sequence[Distribution], harness: dict[str, str]) -> None:
    for d in dists:
        if d.name in harness:
            raise DependencyError(f"installing left {d.name} {d.version} in the environment, "
                                  f"which the harness provides ({harness[d.name]}): refused")


def _load(path: Path, reused: bool, build_s: float) -> PythonEnvironment:
    path = path.resolve()  # the sandbox binds real paths only
    data = json.loads((path / RECORD_NAME).read_text())
    dists = tuple(Distribution(**{**d, "top_level": tuple(d["top_level"]),
                                  "files": tuple(d["files"])}) for d in data["distributions"])
    return PythonEnvironment(
        path=path, key=data["key"], python=str(path / "bin" / "python"),
        site_packages=Path(data["site_packages"]), distributions=dists,
        requirements=tuple(data["requirements"]), source=data["source"],
        locked=data["locked"], tool=data["tool"], reused=reused, build_s=build_s,
        origin=data["origin"], harness_packages=data["harness_packages"],
        built_in_sandbox=tuple(data.get("built_in_sandbox", ())))


def _origin(opts: BuildOptions) -> str:
    parts = [f"wheelhouse {Path(f).name}" if Path(f).name != "built-wheels"
             else "wheels built from sdists in the sandbox" for f in opts.find_links]
    if not opts.no_index:
        parts.append("the package index")
    return ", ".join(parts) or "nothing"


def _input_key(deps: PythonDependencies, opts: BuildOptions,
               wheels: dict[tuple[str, str], str], harness: dict[str, str]) -> str | None:
    """What resolution depends on, when nothing else can change its answer: a lock, or
    wheelhouses only (``no_index``). None when an index is asked (resolve again)."""
    if not (deps.lock or opts.no_index):
        return None
    body = {"requirements": list(deps.requirements),
            "lock": [[p.name, p.version, list(p.hashes)] for p in deps.lock],
            "wheels": sorted(f"{n}=={v} {h}" for (n, v), h in wheels.items()),
            "sdists": _sdist_hashes(opts.find_links),
            "no_index": opts.no_index, "harness": harness, "format": _FORMAT,
            "python": [sys.version, os.path.realpath(sys.executable)]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def build_environment(deps: PythonDependencies, opts: BuildOptions) -> PythonEnvironment:
    """The environment for ``deps``: reused from the cache when the same set resolved
    before, else built there. Raises :class:`DependencyError` (exit 2 in ``certify``)."""
    try:
        return _build_environment(deps, opts)
    except OSError as exc:  # the cache folder or a wheelhouse cannot be read or written
        where = exc.filename or (opts.cache or cache_dir())
        raise DependencyError(f"{where}: {exc.strerror or exc} (the cache folder is "
                              "DUFFLEBAG_CACHE_DIR or the XDG cache; wheelhouses are "
                              "--find-links)") from None


def _build_environment(deps: PythonDependencies, opts: BuildOptions) -> PythonEnvironment:
    t0 = time.monotonic()
    metadata = _harness_metadata()
    harness = {name: version for name, (version, _) in metadata.items()}
    _conflicts(deps, harness)
    cache = opts.cache or cache_dir()
    root = cache / "envs"
    root.mkdir(parents=True, exist_ok=True)
    found = _wheel_hashes(opts.find_links)
    inputs = _input_key(deps, opts, found, harness)
    resolutions = cache / "resolved"
    if inputs is not None and (resolutions / inputs).is_file():
        final = root / (resolutions / inputs).read_text().strip()
        if (final / RECORD_NAME).is_file():
            return _load(final, True, time.monotonic() - t0)
    uv = _uv()
    tool = "uv" if uv is not None else "pip"
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        work = staging / "work"
        env_dir = staging / "env"
        work.mkdir()
        sp = _make_venv(env_dir, uv)
        python = str(env_dir / "bin" / "python")
        if uv is not None:
            _stand_ins(sp, metadata)
        resolved, opts, built = _resolve_building(python, deps, harness, opts, uv, work)
        found = _wheel_hashes(opts.find_links)
        hashes = {n: found[(n, v)] for n, v in resolved.items() if (n, v) in found}
        for pin in deps.lock:
            hashes.setdefault(pin.name, pin.hashes[0])
        key = _key(resolved, hashes, harness)
        final = root / key[:32]
        reused = (final / RECORD_NAME).is_file()
        if not reused:
            _build(env_dir, sp, python, deps, resolved, hashes, harness, opts, uv, work,
                   key, tool, final, built)
        if inputs is not None:
            resolutions.mkdir(exist_ok=True)
            (resolutions / inputs).write_text(final.name + "\n")
        return _load(final, reused, time.monotonic() - t0)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _resolve_building(python: str, deps: PythonDependencies, harness: dict[str, str],
                      opts: BuildOptions, uv: str | None,
                      work: Path) -> tuple[dict[str, str], BuildOptions, list[str]]:
    """:func:`_resolve`; a package refused for having no wheel whose sdist is in a
    wheelhouse is built into one in the sandbox, and resolution tried again. Returns the
    set, the options with the built wheels' folder added, and the sdists built."""
    from dufflebag_harness.outside.environments.sdists import (
        build_in_sandbox,
        needs_wheel,
        sdist_for,
    )

    built: list[str] = []
    wheels = work / "built-wheels"
    for _ in range(20):
        try:
            return _resolve(python, deps, harness, opts, uv, work), opts, built
        except DependencyError as exc:
            name = needs_wheel(str(exc))
            sdist = sdist_for(name, opts.find_links) if name else None
            if sdist is None or sdist.name in built:
                raise
            build_in_sandbox(sdist, wheels)
            built.append(sdist.name)
            if wheels not in opts.find_links:
                opts = dataclasses.replace(opts, find_links=(*opts.find_links, wheels))
    raise DependencyError(f"resolving {deps.source}: more than 20 sdists to build")


def _build(env_dir: Path, sp: Path, python: str, deps: PythonDependencies,
           resolved: dict[str, str], hashes: dict[str, str], harness: dict[str, str],
           opts: BuildOptions, uv: str | None, work: Path, key: str, tool: str,
           final: Path, built: Sequence[str] = ()) -> None:
    if resolved:
        _install(python, sp, deps, resolved, hashes, opts, uv, work)
    else:
        for folder in sp.glob("*.dist-info"):
            shutil.rmtree(folder)
    direct = {str(canonicalize_name(Requirement(r).name)) for r in deps.requirements}
    dists = read_installed(sp, direct, hashes)
    _check_installed(dists, harness)
    missing = sorted(set(resolved) - {d.name for d in dists})
    if missing:
        raise DependencyError(f"installing: {', '.join(missing)} not in the environment")
    version = _run([uv, "--version"], "uv").split()[1] if uv else \
        importlib.metadata.version("pip")
    # bytecode now, named as the files will be named once moved into place: the folder is
    # read-only in the sandbox, where the worker's -I ignores PYTHONDONTWRITEBYTECODE and
    # importing would try to write it (a write outside the extension's storage, IS-10)
    _run([sys.executable, "-m", "compileall", "-q", "-j", "0", "-d",
          str(final / sp.relative_to(env_dir)), str(sp)], "compiling the environment")
    shutil.rmtree(work)
    record = {
        "key": f"sha256:{key}", "site_packages": str(final / sp.relative_to(env_dir)),
        "distributions": [{**asdict(d), "top_level": list(d.top_level),
                           "files": list(d.files)} for d in dists],
        "requirements": list(deps.requirements), "source": deps.source,
        "locked": bool(deps.lock), "tool": f"{tool} {version}", "origin": _origin(opts),
        "harness_packages": harness, "built_in_sandbox": list(built),
    }
    (env_dir / RECORD_NAME).write_text(json.dumps(record, indent=1, sort_keys=True))
    _open_up(env_dir)
    try:
        env_dir.rename(final)
    except OSError:
        if not (final / RECORD_NAME).is_file():  # not another run's finished copy
            raise


def _open_up(path: Path) -> None:
    """Readable by the sandbox's user (another uid), writable by nobody but its owner."""
    for folder, _dirs, files in os.walk(path):
        os.chmod(folder, 0o755)
        for name in files:
            p = os.path.join(folder, name)
            if not os.path.islink(p):
                os.chmod(p, 0o644 if not os.access(p, os.X_OK) else 0o755)
