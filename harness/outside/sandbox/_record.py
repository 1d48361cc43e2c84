"""The sandbox as the signed report states it: small, JSON-able, deterministic.

Built from the same mount plan bwrap receives, so the report says what was mounted,
not what was meant. Only what a reader needs to judge the isolation goes in; no
timestamps, pids or fd numbers, so the same spec on the same machine gives the same
record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.outside.sandbox._bwrap import NAMESPACES
from dufflebag_harness.outside.sandbox._detect import SandboxStatus
from dufflebag_harness.outside.sandbox._spec import SANDBOX_UID, SandboxSpec, plan_mounts

RLIMIT_NAME = "RLIMIT_DATA"
#: The report's ``network`` field holds at most this many characters.
_NETWORK_CHARS = 100


def _network(hosts: tuple[tuple[str, str], ...]) -> str:
    """``none``, or the declared names that answer on the sandbox's loopback (by count
    when the names do not fit the report's field)."""
    if not hosts:
        return "none"
    named = "loopback only; recording sinks for " + ", ".join(name for name, _ in hosts)
    if len(named) <= _NETWORK_CHARS:
        return named
    return f"loopback only; recording sinks for {len(hosts)} declared host names"


@dataclass(frozen=True)
class SandboxRecord:
    """What the report says about the sandbox a run used.

    ``visible`` lists every mount (path, "ro"/"rw", kind) sorted by path; top-level
    symlinks into ``/usr`` are left out since they show nothing ``/usr`` does not.
    ``host_uid`` is the host uid the sandboxed process has (the caller's: 0 when the
    harness runs as root, then mapped to ``uid`` inside and stripped of capabilities).
    ``network`` is ``none`` (a loopback of its own), or names the host names the
    generated ``/etc/hosts`` points at loopback addresses (``hosts``) where the parent's
    recording sinks answer: nothing leaves the machine either way.
    """

    version: str
    visible: tuple[tuple[str, str, str], ...]
    memory_limit_mb: int
    host_uid: int
    tool: str = "bubblewrap"
    namespaces: tuple[str, ...] = NAMESPACES
    uid: int = SANDBOX_UID
    network: str = "none"
    rlimit: str = RLIMIT_NAME
    hosts: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_spec(cls, spec: SandboxSpec, status: SandboxStatus) -> SandboxRecord:
        """The record of a sandbox started from ``spec`` with the (usable) ``status``."""
        status.require()
        visible = sorted((m.path, m.mode, m.kind) for m in plan_mounts(spec)
                         if m.kind != "symlink" or not m.source.lstrip("/").startswith("usr/"))
        hosts = tuple(sorted(spec.hosts.items()))
        return cls(version=status.version, visible=tuple(visible),
                   memory_limit_mb=spec.memory_mb, host_uid=os.geteuid(), uid=spec.uid,
                   network=_network(hosts), hosts=hosts)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the signed report (stable key order, lists not tuples)."""
        return {
            "tool": self.tool,
            "version": self.version,
            "namespaces": sorted(self.namespaces),
            "uid": self.uid,
            "host_uid": self.host_uid,
            "network": self.network,
            "visible": [{"path": p, "mode": m, "kind": k} for p, m, k in self.visible],
            "memory_limit_mb": self.memory_limit_mb,
            "rlimit": self.rlimit,
        }
