"""The conformance catalog: every check a certification runs.

Check modules (one per area) register themselves on import; import
:func:`load_checks` to get the full registry.
"""

from __future__ import annotations

import importlib
import pkgutil

from dufflebag_harness.conformance._registry import (
    REGISTRY,
    Catalog,
    CatalogMismatch,
    Registry,
    RegistryError,
    catalog_version,
    check,
    load_catalog,
    verify_against_catalog,
)
from dufflebag_harness.conformance._types import (
    ADVISORY,
    BACKENDS,
    REQUIRED,
    CheckContext,
    CheckFailed,
    CheckResult,
    CheckSkipped,
    CheckSpec,
    HostHandle,
    Severity,
    Status,
    parse_pairs,
)

#: Modules of this package that are not check modules.
NOT_AREAS = frozenset({"catalog"})


def area_modules() -> list[str]:
    """Every public module of this package is an area module (one per area)."""
    return sorted(
        f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in NOT_AREAS
    )


def load_checks() -> Registry:
    """Import every area module and return the global registry."""
    for name in area_modules():
        importlib.import_module(name)
    return REGISTRY


__all__ = [
    "ADVISORY",
    "BACKENDS",
    "NOT_AREAS",
    "REGISTRY",
    "REQUIRED",
    "Catalog",
    "CatalogMismatch",
    "CheckContext",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "CheckSpec",
    "HostHandle",
    "Registry",
    "RegistryError",
    "Severity",
    "Status",
    "area_modules",
    "catalog_version",
    "check",
    "load_catalog",
    "load_checks",
    "parse_pairs",
    "verify_against_catalog",
]
