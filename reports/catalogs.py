"""Which conformance catalogs ``verify`` and ``sign`` accept.

A report embeds its catalog, and the rules recompute the level from it, so a
re-signed report whose catalog lost a required check (or relabelled one advisory)
would be consistent with itself. The defence is to accept only catalogs one knows:
the installed harness's ``conformance/catalog.toml``, or a ``catalog.toml`` given
explicitly (``verify --catalog FILE``).

The installed catalog is read as a file, located by :func:`importlib.util.find_spec`
without importing the checks (``reports`` never imports ``conformance``), and
parsed the way ``dufflebag_harness.conformance.load_catalog`` does; its version is
the same ``sha256:`` of the canonical listing (a test compares the two).
"""

from __future__ import annotations

import importlib.util
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dufflebag_harness.reports.canonical import catalog_version

__all__ = [
    "CATALOG_FILE",
    "CatalogUnreadable",
    "catalog_file_version",
    "installed_catalog_file",
    "installed_catalog_version",
    "known_catalog_versions",
    "parse_catalog",
]

CATALOG_FILE = "catalog.toml"
_CONFORMANCE = "dufflebag_harness.conformance"
_MAX_CATALOG_BYTES = 4 * 1024 * 1024


class CatalogUnreadable(ValueError):
    """A ``catalog.toml`` cannot be read or is not a catalog; the message names the file."""


def parse_catalog(text: str, source: str) -> list[dict[str, Any]]:
    """The catalog listing (``id, title, severity, backends, requires``) of a catalog.toml."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogUnreadable(f"{source}: not a catalog.toml (TOML: {exc})") from None
    raw_checks = data.get("check")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise CatalogUnreadable(f"{source}: not a catalog.toml (no [[check]] entries)")
    listing: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_checks):
        where = f"{source}: [[check]] #{index + 1}"
        if not isinstance(raw, Mapping):
            raise CatalogUnreadable(f"{where}: not a table")
        try:
            entry = {"id": raw["id"], "title": raw["title"], "severity": raw["severity"],
                     "backends": list(raw["backends"]), "requires": list(raw.get("requires", []))}
        except (KeyError, TypeError) as exc:
            raise CatalogUnreadable(f"{where}: missing or malformed {exc}") from None
        listing.append(entry)
    return listing


def catalog_file_version(path: Path | str) -> str:
    """The catalog version of the ``catalog.toml`` at ``path``."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_CATALOG_BYTES + 1)
    except OSError as exc:
        raise CatalogUnreadable(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > _MAX_CATALOG_BYTES:
        raise CatalogUnreadable(f"{path}: larger than {_MAX_CATALOG_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogUnreadable(f"{path}: not UTF-8 text") from None
    return catalog_version(parse_catalog(text, str(path)))


def installed_catalog_file() -> Path | None:
    """This harness's ``conformance/catalog.toml`` (``None`` if it is not installed)."""
    spec = importlib.util.find_spec(_CONFORMANCE)  # locates it; runs none of its code
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / CATALOG_FILE
        if candidate.is_file():
            return candidate
    return None


def installed_catalog_version() -> str | None:
    """The version of this harness's own ``conformance/catalog.toml`` (``None`` if absent)."""
    path = installed_catalog_file()
    return None if path is None else catalog_file_version(path)


def known_catalog_versions(extra: Iterable[Path | str] = ()) -> dict[str, str]:
    """Catalog version → where it comes from: the installed catalog and each file given."""
    known: dict[str, str] = {}
    installed = installed_catalog_version()
    if installed is not None:
        known[installed] = "the installed harness"
    for path in extra:
        known.setdefault(catalog_file_version(path), str(path))
    return known
