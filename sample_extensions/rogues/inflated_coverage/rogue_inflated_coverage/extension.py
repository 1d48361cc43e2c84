"""Invoice totals: ``POST /totals`` with lines, a country and an optional discount code."""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router
from rogue_inflated_coverage import _discounts, _tax


def _lines(body: Any) -> list[tuple[int, str]]:
    lines = body.get("lines") if isinstance(body, dict) else None
    if not isinstance(lines, list) or not lines:
        raise ValueError("lines: a non-empty list is required")
    out = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict) or not isinstance(line.get("cents"), int):
            raise ValueError(f"lines[{i}]: an object with integer cents is required")
        out.append((int(line["cents"]), str(line.get("category", "general"))))
    return out


class Rogue(Extension):
    metadata = Metadata(
        name="inflated_coverage",
        version="1.0.0",
        description="Invoice totals; its test setup tries to make coverage look complete",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/inflated_coverage",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/totals", self.totals)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def totals(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        try:
            lines = _lines(body)
            country = str(body.get("country", "DE"))
            subtotal = sum(cents for cents, _ in lines)
            tax = sum(_tax.tax(cents, country, category) for cents, category in lines)
        except (ValueError, _tax.TaxError) as exc:
            return JSONResponse({"error": str(exc)}, 422)
        discount = _discounts.apply(subtotal, body.get("code"))
        return JSONResponse({"subtotal": subtotal, "tax": tax, "discount": discount,
                             "total": subtotal + tax - discount})
