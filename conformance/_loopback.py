"""HTTP clients for the hosts the harness runs: plain HTTP over loopback, never TLS.

httpx builds a TLS context for every client it makes (reading the system's CA bundle:
about 30 ms of CPU each), whether or not a request ever uses TLS. A certification makes
a client per host and per timed phase, hundreds of them, and those contexts were a
third of the parent's CPU. One context with no trust anchors serves every client here:
the URLs they talk to are ``http://127.0.0.1:<port>``, and an ``https`` peer would be
refused, not trusted.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def loopback_client(base_url: str = "", *, timeout: float, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` for a host of the harness (``base_url`` on 127.0.0.1)."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=_NO_TLS, **kwargs)


__all__ = ["loopback_client"]
