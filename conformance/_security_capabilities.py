"""Judging observed capability use against ``extension.toml [capabilities]`` (parent side).

The worker's monitor reports what each extension touched; this decides, here in
the parent, which of it the manifest covers:

* **file** — storage areas: the extension's own is granted, another's (or the
  core's) never is; any other path must lie under a declared ``filesystem``
  prefix (reads of interpreter code, the package itself and the worker's temp
  folder never reach here: the monitor leaves them out).
* **network** — ``host:port`` (``[v6]:port``, ``unix:/path``) must match a
  declared ``network`` pattern (shell-style wildcards, case-insensitive; a
  pattern without a port admits any port; IPv6 in brackets). A name lookup
  (port ``*``) is covered by any pattern for that host.
* **subprocess** — needs ``subprocess = true``.
* **native** — ``ctypes`` is not a capability an extension can declare.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dufflebag_harness.outside.loader import Capabilities

__all__ = ["covers_network", "covers_path", "undeclared", "unused"]


def _split(text: str) -> tuple[str, str]:
    """``("host", "port")`` of ``host:port``, ``[v6]:port`` or a bare host (any port)."""
    if text.startswith("["):
        host, _, rest = text.partition("]")
        return host + "]", (rest[1:] if rest.startswith(":") else "") or "*"
    host, sep, port = text.rpartition(":")
    return (host, port or "*") if sep else (text, "*")


def covers_network(patterns: Iterable[str], target: str) -> bool:
    """Whether a declared ``host:port`` pattern admits ``target``."""
    target = target.lower()
    host, port = _split(target)
    for raw in patterns:
        pattern = str(raw).strip().lower()
        if not pattern:
            continue
        if target.startswith("unix:") or pattern.startswith("unix:"):
            if fnmatch.fnmatchcase(target, pattern):
                return True
            continue
        p_host, p_port = _split(pattern)
        if not fnmatch.fnmatchcase(host, p_host.replace("[", "[[]")):  # brackets are literal
            continue
        if p_port == "*" or port == "*" or fnmatch.fnmatchcase(port, p_port):
            return True
    return False


def covers_path(prefixes: Iterable[str], path: str) -> bool:
    """Whether ``path`` is one of the declared absolute prefixes or lies under one."""
    for raw in prefixes:
        prefix = str(raw).rstrip("/") or "/"
        if path == prefix or path.startswith(prefix if prefix == "/" else prefix + "/"):
            return True
    return False


def _violation(record: Mapping[str, Any], name: str, caps: Capabilities) -> str | None:
    """Why ``record`` is not covered, or None when it is."""
    kind, target = record.get("kind"), str(record.get("target", ""))
    if kind == "file":
        owner = record.get("storage_owner")
        if owner is not None:
            if owner == name:
                return None
            whose = "the core's" if str(owner).startswith("_") or not owner else f"{owner!r}'s"
            return f"touched {whose} storage area, not its own"
        if covers_path(caps.filesystem, target):
            return None
        verb = "wrote" if record.get("write") else "read"
        return f"{verb} {target} outside its storage and package (no [capabilities].filesystem)"
    if kind == "network":
        if covers_network(caps.network, target):
            return None
        what = "looked up" if record.get("event", "").startswith("socket.get") else (
            "listened on" if record.get("event") == "socket.bind" else "connected to")
        return f"{what} {target} (not in [capabilities].network)"
    if kind == "subprocess":
        if caps.subprocess:
            return None
        return f"ran a subprocess ({record.get('event')}: {target}) without subprocess = true"
    if kind == "native":
        return f"used ctypes ({record.get('event')}: {target}); native code is not declarable"
    return f"unknown capability record {kind!r}"


def undeclared(records: Sequence[Mapping[str, Any]], name: str,
               caps: Capabilities) -> list[dict[str, Any]]:
    """The observed records ``caps`` does not cover, each with its reason."""
    out = []
    for record in records:
        reason = _violation(record, name, caps)
        if reason is not None:
            out.append({"reason": reason, "where": record.get("where", ""),
                        "count": record.get("count", 1), "event": record.get("event")})
    return out


def unused(records: Sequence[Mapping[str, Any]], caps: Capabilities) -> list[str]:
    """Declared capabilities nothing observed needed (``network:host:port`` ...)."""
    seen = {(r.get("kind"), str(r.get("target", ""))) for r in records}
    targets = {kind: [t for k, t in seen if k == kind] for kind in ("file", "network")}
    out = [f"network: {p}" for p in caps.network
           if not any(covers_network([p], t) for t in targets["network"])]
    out += [f"filesystem: {p}" for p in caps.filesystem
            if not any(covers_path([p], t) for t in targets["file"])]
    if caps.subprocess and not any(k == "subprocess" for k, _ in seen):
        out.append("subprocess: true")
    return out
