"""Discount codes: percentage or fixed amount, with a minimum order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Discount:
    code: str
    percent: int = 0
    fixed_cents: int = 0
    minimum_cents: int = 0


CODES = {
    "WELCOME10": Discount("WELCOME10", percent=10),
    "FIVEOFF": Discount("FIVEOFF", fixed_cents=500, minimum_cents=2500),
}


def apply(subtotal_cents: int, code: str | None) -> int:
    if not code:
        return 0
    discount = CODES.get(code.upper())
    if discount is None or subtotal_cents < discount.minimum_cents:
        return 0
    if discount.percent:
        return subtotal_cents * discount.percent // 100
    return min(discount.fixed_cents, subtotal_cents)
