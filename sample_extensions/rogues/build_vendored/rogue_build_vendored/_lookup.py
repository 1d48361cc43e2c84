"""Pure-Python country lookup (the fallback when no compiled lookup is built)."""

from __future__ import annotations

import ipaddress

_RANGES = (
    (ipaddress.ip_network("192.0.2.0/24"), "NL"),
    (ipaddress.ip_network("198.51.100.0/24"), "DE"),
    (ipaddress.ip_network("203.0.113.0/24"), "JP"),
)


def country(address: str) -> str | None:
    """ISO country code of ``address``, None when unknown or not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return next((code for net, code in _RANGES if ip in net), None)
