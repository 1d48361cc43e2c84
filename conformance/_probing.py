"""Helpers checks share: reading the management API, choosing routes to exercise."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conformance._types import CheckFailed, HostHandle

MGMT = "/api/v1/extensions"
_PARAM = re.compile(r"\{[^}]+\}")


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


def full_path(name: str, path: str) -> str:
    prefix = f"/ext/{name}"
    return path if path.startswith(prefix + "/") or path == prefix else prefix + path


def routes(info: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The extension's routes as the host lists them, with full paths."""
    out = []
    for r in info.get("routes", []):
        item = dict(r)
        item["full_path"] = full_path(name, str(r["path"]))
        item["methods"] = [m.upper() for m in r.get("methods", ["GET"])]
        out.append(item)
    return out


def concrete(path: str) -> str:
    """Fill path parameters with a plausible value so the route can be requested."""
    return _PARAM.sub("1", path)


def protected_routes(info: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in routes(info, name) if r.get("auth") or r.get("roles")]


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
