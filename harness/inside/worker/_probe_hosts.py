"""Hosts that probes build for themselves, and what probes need to look inside them.

Probes that must watch an extension from the inside (what it leaves behind
after ``stop``, how its hooks fire, what a reload does to its state) build a
private host on the worker's loop instead of using one the parent started:
the host, its SQLite database and its storage live exactly as long as the
probe. Everything here runs in the worker; nothing here decides a result.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dufflebag_harness.inside.host import Host
    from dufflebag_harness.inside.worker._server import RunningHost, WorkerServer
    from dufflebag_harness.sdk import Extension

__all__ = ["PROBE_TOKEN", "probe_host", "running_host", "seed_users"]

#: Bearer token of the probe's own user, who holds every core role.
PROBE_TOKEN = "probe-token-all-roles"


def seed_users() -> list[Any]:
    """One user with every core role: any protected route admits it."""
    from dufflebag_harness.inside.host import SeedUser

    return [SeedUser(id=1, username="probe_all", roles=frozenset({"admin", "manager", "user"}),
                     token=PROBE_TOKEN)]


@contextlib.asynccontextmanager
async def running_host(
    server: WorkerServer,
    names: Sequence[str],
    *,
    config: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    users: Sequence[Any] = (),
    prepare: Callable[[str, Extension], None] | None = None,
) -> AsyncIterator[tuple[Host, dict[str, Extension]]]:
    """A started host (SQLite, temporary storage) with fresh instances of ``names``.

    Extensions ``names`` require come too (started first). ``config`` is the
    configuration of the *first* name; ``prepare`` may wrap
    an instance before the host sees it. The host is stopped on exit even when
    the body raises.
    """
    with tempfile.TemporaryDirectory(prefix="dbh-probe-") as storage:
        host, instances = server.new_host(
            names, storage_root=Path(storage), options=options, users=users, prepare=prepare,
            config={names[0]: config} if names and config is not None else None,
        )
        try:
            await host.start()
            yield host, instances
        finally:
            await host.stop()


def probe_host(server: WorkerServer, args: Mapping[str, Any]) -> RunningHost:
    """The parent-started host named by ``args["host_id"]``."""
    from dufflebag_harness.inside.worker._server import OpError

    host_id = str(args.get("host_id", ""))
    running = server.hosts.get(host_id)
    if running is None:
        raise OpError("UnknownHost", f"no running host {host_id!r}")
    return running
