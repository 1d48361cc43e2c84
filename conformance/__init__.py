"""The conformance catalog: every check a certification runs.

Check modules (one per area) register themselves on import; import
:func:`load_checks` to get the full registry.
"""

from __future__ import annotations

import importlib

from conformance._registry import (
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
from conformance._types import (
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

#: Check modules, one per area, imported by :func:`load_checks`.
AREA_MODULES = (
    "conformance.lifecycle",
    "conformance.routing",
    "conformance.auth",
    "conformance.faults",
)


def load_checks() -> Registry:
    """Import every area module and return the global registry."""
    for name in AREA_MODULES:
        importlib.import_module(name)
    return REGISTRY


__all__ = [
    "ADVISORY",
    "AREA_MODULES",
    "BACKENDS",
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
    "catalog_version",
    "check",
    "load_catalog",
    "load_checks",
    "parse_pairs",
    "verify_against_catalog",
]
