"""From a manifest to the manifest with its environment: what ``certify`` calls."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dufflebag_harness.outside.environments.build import (
    BuildOptions,
    DependencyError,
    PythonEnvironment,
    build_environment,
)
from dufflebag_harness.outside.loader import Manifest

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


def prepare(manifest: Manifest, opts: PrepareOptions,
            notify: Callable[[str], None] = lambda _text: None) -> Manifest:
    """``manifest`` with its environment (``Manifest.environment``) when it declares Python
    dependencies; unchanged otherwise. Raises :class:`DependencyError` naming the
    extension, the package and the constraint."""
    for folder in opts.find_links:
        if not Path(folder).is_dir():
            raise DependencyError(f"--find-links {folder}: no such folder")
    deps = manifest.python_dependencies
    if not deps:
        return manifest
    try:
        env = build_environment(deps, BuildOptions(find_links=tuple(opts.find_links),
                                                   no_index=opts.no_index, cache=opts.cache))
    except DependencyError as exc:
        raise DependencyError(f"{manifest.name}'s Python dependencies: {exc}") from None
    notify(f"Python dependencies: environment {'reused' if env.reused else 'built'} "
           f"({len(env.distributions)} packages, {env.tool}, {env.build_s:.1f} s)")
    return dataclasses.replace(manifest, environment=_declared(env, deps.names))


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
