"""From a manifest to the manifest with its environment: what ``certify`` calls."""

from __future__ import annotations

import contextlib
import dataclasses
import email.parser
import importlib.metadata
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from dufflebag_harness.outside.environments.build import (
    BuildOptions,
    DependencyError,
    PythonEnvironment,
    build_environment,
)
from dufflebag_harness.outside.environments.policy import judge, read_policy
from dufflebag_harness.outside.environments.vulns import SEVERITIES, scan
from dufflebag_harness.outside.loader import Manifest, PythonDependencies

__all__ = ["PrepareOptions", "prepare"]


@dataclass(frozen=True)
class PrepareOptions:
    """``certify``'s options for the extension's Python dependencies."""

    #: Wheelhouse folders (``--find-links DIR``, repeatable).
    find_links: Sequence[Path] = ()
    #: No package index: the wheelhouses only (``--no-index``).
    no_index: bool = False
    #: The cache folder (default ``DUFFLEBAG_CACHE_DIR`` or the XDG cache).
    cache: Path | None = None
    #: The marketplace's licence policy (``--licence-policy FILE``: TOML allow/deny lists).
    licence_policy: Path | None = None
    #: An OSV export to scan against offline (``--vuln-db DIR``); None: pip-audit online.
    vuln_db: Path | None = None
    #: Known vulnerabilities at or above this severity fail DP-04 (``--fail-on-severity``).
    fail_on_severity: str | None = None


def prepare(manifest: Manifest, opts: PrepareOptions,
            notify: Callable[[str], None] = lambda _text: None,
            also: Sequence[Manifest] = ()) -> Manifest:
    """``manifest`` with its environment (``Manifest.environment``) when it (or an extension
    in ``also``, loaded beside it: ``certify --with``) declares Python dependencies;
    unchanged otherwise. Raises :class:`DependencyError` naming the extension, the package
    and the constraint."""
    for folder in opts.find_links:
        if not Path(folder).is_dir():
            raise DependencyError(f"--find-links {folder}: no such folder")
    if opts.fail_on_severity is not None and opts.fail_on_severity not in SEVERITIES:
        raise DependencyError(f"--fail-on-severity {opts.fail_on_severity!r}: not one of "
                              f"{', '.join(SEVERITIES)}")
    policy = read_policy(opts.licence_policy) if opts.licence_policy is not None else None
    if opts.vuln_db is not None and not opts.vuln_db.is_dir():
        raise DependencyError(f"--vuln-db {opts.vuln_db}: not a folder of OSV records")
    deps = _combined(manifest, also)
    if not deps:
        return manifest
    try:
        env = build_environment(deps, BuildOptions(find_links=tuple(opts.find_links),
                                                   no_index=opts.no_index, cache=opts.cache))
    except DependencyError as exc:
        raise DependencyError(f"{manifest.name}'s Python dependencies: {exc}") from None
    notify(f"Python dependencies: environment {'reused' if env.reused else 'built'} "
           f"({len(env.distributions)} packages, {env.tool}, {env.build_s:.1f} s)")
    # a cached environment may have been built for another declaration of the same set
    env = dataclasses.replace(_declared(env, manifest.python_dependencies.names),
                              requirements=deps.requirements, source=deps.source)
    if policy is not None:
        verdicts = {d.name: judge(d.licence, policy) for d in env.distributions}
        own = judge(manifest.license, policy)
        policy = {**policy, "verdicts": verdicts, "own": {"licence": manifest.license or
                                                          "NOASSERTION", "verdict": own}}
    packages = [(d.name, d.version, "inherited") for d in env.distributions]
    project = _own_distribution(manifest.root)
    if project is not None:
        packages.append((*project, "own"))
    vulnerabilities = {**scan(packages, opts.vuln_db), "fail_on_severity": opts.fail_on_severity}
    if vulnerabilities["skipped"]:
        notify(f"known vulnerabilities not scanned: {vulnerabilities['skipped']}")
    env = dataclasses.replace(env, licence_policy=policy, vulnerabilities=vulnerabilities)
    return dataclasses.replace(manifest, environment=env)


def _combined(manifest: Manifest, also: Sequence[Manifest]) -> PythonDependencies:
    """What the worker needs: the extension's declaration and those of the extensions loaded
    beside it. A lock pins one extension's set only, so a combined set is resolved afresh.
    What the extension itself may import (SE-03) stays its own declaration."""
    deps = manifest.python_dependencies
    extra = [(m.name, r) for m in also for r in m.python_dependencies.requirements]
    if not extra:
        return deps
    names = ", ".join(sorted({name for name, _ in extra}))
    return PythonDependencies(
        tuple(dict.fromkeys([*deps.requirements, *(r for _, r in extra)])),
        f"{deps.source or 'no Python dependencies of its own'} and those of --with {names}")


def _own_distribution(root: Path) -> tuple[str, str] | None:
    """The extension's own distribution (name, version) as it declares it, if it does."""
    pyproject = root / "pyproject.toml"
    with contextlib.suppress(OSError, ValueError):
        if pyproject.is_file():
            project = tomllib.loads(pyproject.read_text("utf-8")).get("project", {})
            if isinstance(project.get("name"), str) and isinstance(project.get("version"), str):
                return str(canonicalize_name(project["name"])), project["version"]
            return None
        for meta in root.glob("*.dist-info/METADATA"):
            head = email.parser.Parser().parsestr(meta.read_text("utf-8"), headersonly=True)
            if head.get("Name") and head.get("Version"):
                return str(canonicalize_name(head["Name"])), str(head["Version"])
    return None


def _harness_top_level(name: str) -> tuple[str, ...]:
    """Top-level modules of a distribution the harness provides (its metadata files)."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return ()
    text = dist.read_text("top_level.txt")
    if text:
        return tuple(t.strip() for t in text.splitlines() if t.strip())
    return tuple(sorted({str(f).split("/")[0].removesuffix(".py") for f in dist.files or ()
                         if not str(f).split("/")[0].endswith((".dist-info", ".data"))
                         and not str(f).startswith("..")
                         and (str(f).endswith(".py") or "/" in str(f))}))


def _declared(env: PythonEnvironment, names: Sequence[str]) -> PythonEnvironment:
    """``env`` as this declaration sees it (a cached environment may have been built for
    another declaration resolving to the same set): which of its distributions are
    direct, which modules the extension may import, which it may not."""
    wanted = set(names)
    dists = tuple(dataclasses.replace(d, direct=d.name in wanted) for d in env.distributions)
    declared = {mod: d.name for d in dists if d.direct for mod in d.top_level}
    for name in sorted(wanted - {d.name for d in dists}):  # the harness provides it
        declared.update({mod: name for mod in _harness_top_level(name)})
    installed = {mod: d.name for d in dists if not d.direct for mod in d.top_level
                 if mod not in declared}
    return dataclasses.replace(env, distributions=dists, declared_modules=declared,
                               installed_modules=installed)
