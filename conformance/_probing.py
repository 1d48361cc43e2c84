"""Helpers checks share: reading the management API, raw requests, core responses.

Which of the extension's routes to call, as whom and with what, lives in ``_routes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.conformance._types import CheckFailed, HostHandle

MGMT = "/api/v1/extensions"


def require_loaded(host: HostHandle, name: str) -> None:
    """Fail when the extension did not load in ``host`` (its error is the reason)."""
    error = host.load_errors.get(name)
    if error:
        raise CheckFailed(f"the extension did not load: {error}", {"load_error": error})


def details(host: HostHandle, name: str) -> dict[str, Any]:
    r = host.request("GET", f"{MGMT}/{name}", as_role="admin")
    if r.status_code != 200:
        raise CheckFailed(
            f"management API GET {MGMT}/{name} answered {r.status_code}",
            {"status": r.status_code, "body": r.text[:500]},
        )
    data: dict[str, Any] = r.json()
    return data


def state(host: HostHandle, name: str) -> str:
    return str(details(host, name).get("state", ""))


def set_enabled(host: HostHandle, name: str, enabled: bool) -> None:
    action = "enable" if enabled else "disable"
    r = host.request("POST", f"{MGMT}/{name}/{action}", as_role="admin")
    if r.status_code >= 300:
        raise CheckFailed(f"admin could not {action} {name}: HTTP {r.status_code}",
                          {"body": r.text[:500]})


def strip_volatile(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers without the ones that differ per request anyway."""
    skip = {"date", "content-length", "server", "x-request-id"}
    return {k.lower(): v for k, v in headers.items() if k.lower() not in skip}


def raw_request(base_url: str, raw_path: str, headers: Mapping[str, str] | None = None,
                method: str = "GET", timeout: float = 10.0) -> tuple[int, str]:
    """Send ``raw_path`` byte for byte (no client-side normalization of ``..``)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"{method} {raw_path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks).decode("utf-8", "replace")
    head, _, body = raw.partition("\r\n\r\n")
    try:
        status = int(head.split(" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, body


#: Core requests whose answers must not depend on extensions that are disabled or
#: failed to load (``/healthz`` is excluded: it lists extension states by design).
CORE_PROBES: tuple[tuple[str, str, str | None, dict[str, Any] | None], ...] = (
    ("GET", "/api/v1/me", "user", None),
    ("GET", "/api/v1/no-such-core-route", None, None),
    ("POST", "/api/v1/auth/login", None, {"username": "nobody_here", "password": "wrong-pw-1"}),
)


def core_differences(host: HostHandle, bare: HostHandle) -> list[dict[str, Any]]:
    """Core responses of ``host`` that differ from those of ``bare``."""
    diffs = []
    for method, path, role, body in CORE_PROBES:
        a = host.request(method, path, as_role=role, json=body)
        b = bare.request(method, path, as_role=role, json=body)
        ha, hb = strip_volatile(a.headers), strip_volatile(b.headers)
        if a.status_code != b.status_code or ha != hb or a.content != b.content:
            diffs.append({"request": f"{method} {path}",
                          "with_extension": [a.status_code, ha, a.text[:300]],
                          "without": [b.status_code, hb, b.text[:300]]})
    return diffs
