"""The reference host: runs extensions the way the DuffleBagBase platform does.

Certification runs extensions in it, authors' tests use it through the
``fixtures`` plugin, and performance is measured on it. Starlette underneath,
pure ASGI throughout; per-route middleware chains, and the hooks that can apply
to each route, are resolved when the route table is built, never per request,
so extensions that do not match a request cost it nothing.

Ordering: lower ``priority`` first, ties by extension name then registration
order; middleware with a lower priority is the outer layer.
"""

from __future__ import annotations

from dufflebag_harness.inside.host._control import UnknownExtension
from dufflebag_harness.inside.host._host import Host
from dufflebag_harness.inside.host._options import AuditEntry, ExtensionState, HostOptions, SeedUser

__all__ = ["AuditEntry", "ExtensionState", "Host", "HostOptions", "SeedUser", "UnknownExtension"]
