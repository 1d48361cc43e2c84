"""The registry must equal the checked-in catalog, or certification refuses to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from dufflebag_harness.conformance import (
    REQUIRED,
    CatalogMismatch,
    CheckFailed,
    RegistryError,
    check,
    load_catalog,
    load_checks,
    parse_pairs,
    verify_against_catalog,
)
from dufflebag_harness.conformance._registry import render_catalog

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "docs" / "requirements.md"


def test_registry_equals_checked_in_catalog() -> None:
    registry = load_checks()
    verify_against_catalog(registry, load_catalog())
    assert render_catalog(registry) == (ROOT / "conformance" / "catalog.toml").read_text()


def test_added_check_is_refused_until_catalog_lists_it() -> None:
    registry = load_checks().snapshot()

    @check(id="ZZ-99", title="t", requires=("REQ-1.1",), severity=REQUIRED, registry=registry)
    def extra(ctx: object) -> None:
        raise CheckFailed("never")

    with pytest.raises(CatalogMismatch, match=r"ZZ-99: registered but not in catalog\.toml"):
        verify_against_catalog(registry, load_catalog())


def test_changed_severity_is_a_mismatch() -> None:
    text = (ROOT / "conformance" / "catalog.toml").read_text()
    tampered = text.replace('severity = "required"', 'severity = "advisory"', 1)
    with pytest.raises(CatalogMismatch, match="severity"):
        verify_against_catalog(load_checks(), load_catalog(tampered))
    assert load_catalog(tampered).version != load_catalog(text).version


def test_duplicate_and_malformed_ids_refused() -> None:
    registry = load_checks().snapshot()
    with pytest.raises(RegistryError, match="registered twice"):
        check(id="LC-01", title="dup", requires=(), severity=REQUIRED,
              registry=registry)(lambda ctx: None)
    with pytest.raises(RegistryError, match="AREA-NN"):
        check(id="lc-1", title="bad", requires=(), severity=REQUIRED,
              registry=registry)(lambda ctx: None)


def test_parse_pairs_expands_bare_ids_and_rejects_unknown() -> None:
    specs = load_checks().as_dict()
    assert parse_pairs(["LC-01"], specs) == {"LC-01@sqlite"}
    with pytest.raises(KeyError, match="unknown check"):
        parse_pairs(["XX-01"], specs)
    with pytest.raises(KeyError, match="does not run on backend"):
        parse_pairs(["LC-01@oracle"], specs)


def test_every_check_cites_known_requirements() -> None:
    if not REQUIREMENTS.exists():
        pytest.fail(f"requirements list missing at {REQUIREMENTS}")
    known = REQUIREMENTS.read_text()
    for spec in load_checks():
        assert spec.requires, spec.id
        for req in spec.requires:
            assert f"| {req} |" in known or req.startswith("REQ-3."), (spec.id, req)
        assert spec.fix, f"{spec.id} has no how-to-fix text"
