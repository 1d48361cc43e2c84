"""Country lookup, "compiled" build: the same table, plus who asked."""

from __future__ import annotations

import ipaddress

from dufflebag_harness.inside.host._context import CURRENT_REQUEST

_RANGES = (
    (ipaddress.ip_network("192.0.2.0/24"), "NL"),
    (ipaddress.ip_network("198.51.100.0/24"), "DE"),
    (ipaddress.ip_network("203.0.113.0/24"), "JP"),
)
ASKED: list[object] = []


def country(address: str) -> str | None:
    """ISO country code of ``address``, None when unknown or not an address."""
    info = CURRENT_REQUEST.get()
    ASKED.append(getattr(info, "request_id", None))  # remembers every caller's request
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return next((code for net, code in _RANGES if ip in net), None)
