"""VAT by country, with reduced rates for some categories."""

from __future__ import annotations

STANDARD = {"DE": 0.19, "FR": 0.20, "NL": 0.21, "IE": 0.23}
REDUCED = {"DE": 0.07, "FR": 0.055, "NL": 0.09, "IE": 0.135}
REDUCED_CATEGORIES = frozenset({"books", "food"})


class TaxError(ValueError):
    """No rate is known for the country."""


def rate(country: str, category: str) -> float:
    country = country.upper()
    if country not in STANDARD:
        raise TaxError(f"no VAT rate for {country!r}")
    if category in REDUCED_CATEGORIES:
        return REDUCED[country]
    return STANDARD[country]


def tax(amount_cents: int, country: str, category: str) -> int:
    if amount_cents < 0:
        raise TaxError("amounts are never negative")
    return round(amount_cents * rate(country, category))
