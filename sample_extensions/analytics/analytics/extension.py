"""The ``analytics`` extension: wires tracking, storage and the dashboard to the host.

Request path cost is one pure-ASGI layer and one counter increment; storage
happens in the recorder's background task (see ``_recorder``). The dashboard
is for the platform's staff only (``admin``, ``manager``) and every read of it
is audited, because page views carry user ids.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from analytics._config import CONFIG_SCHEMA, DEFAULT_CONFIG, Settings, parse
from analytics._openapi import DEFAULT_LIMIT, MAX_LIMIT, PING_DOC, SUMMARY_DOC, TOP_PATHS_DOC
from analytics._recorder import Recorder
from analytics._store import MIGRATIONS, PageView, purge_older_than, summary, top_paths, write_batch
from analytics._tracking import ASGIApp, TrackingMiddleware
from dufflebag_harness.sdk import (
    Extension,
    Health,
    HealthStatus,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Middleware,
    Request,
    Response,
    Router,
    Services,
    current_user,
)

__all__ = ["DASHBOARD_ROLES", "DEGRADED_AT", "PURGE_EVERY_S", "Analytics"]

#: Who may read the dashboard.
DASHBOARD_ROLES = ("admin", "manager")
#: Fraction of the queue in use at which health reports ``degraded``.
DEGRADED_AT = 0.8
#: Expired raw page views are deleted at most this often (seconds).
PURGE_EVERY_S = 3600.0


class Analytics(Extension):
    """Page-view analytics: tracking middleware, status metrics, dashboard API."""

    metadata = Metadata(
        name="analytics",
        version="1.0.0",
        description="Page-view analytics: request tracking, daily roll-ups and a dashboard API",
        author="DuffleBagBase",
        license="MIT",
        homepage="https://example.org/dufflebag/analytics",
        host_api=">=1.0,<2",
        tags=("analytics", "sample"),
    )
    config_schema = CONFIG_SCHEMA
    default_config = DEFAULT_CONFIG
    migrations = MIGRATIONS

    def __init__(self, *, queue_size: int = 10_000) -> None:
        self.settings = Settings()
        self.recorder = Recorder(self._store, self._store_failed, maxsize=queue_size)
        self._last_purge = 0.0

    # -- configuration and lifecycle -------------------------------------------
    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Swap in new settings at once; the middleware reads them on every request."""
        self.settings = parse(config)

    async def initialize(self, services: Services) -> None:
        self.services = services

    async def start(self) -> None:
        self.recorder.start()

    async def stop(self) -> None:
        await self.recorder.stop()

    async def health(self) -> HealthStatus:
        rec = self.recorder
        checks = {
            "writer": "running" if rec.running else "stopped",
            "queue": f"{rec.pending}/{rec.maxsize}",
            "dropped": str(rec.dropped),
            "failed_batches": str(rec.failed_batches),
        }
        if not rec.running:
            return HealthStatus(Health.DEGRADED, checks, "the page-view writer is not running")
        if rec.pending >= DEGRADED_AT * rec.maxsize:
            return HealthStatus(Health.DEGRADED, checks, "page views are queueing up")
        if rec.last_error is not None:
            return HealthStatus(Health.DEGRADED, checks, f"last write failed: {rec.last_error}")
        return HealthStatus(Health.HEALTHY, checks)

    async def flush(self) -> bool:
        """Wait until queued page views are stored (tests and shutdown use it)."""
        return await self.recorder.flush()

    # -- registration ----------------------------------------------------------
    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping, name="ping", openapi=PING_DOC)
        router.get("/summary", self.summary, roles=DASHBOARD_ROLES, name="summary",
                   openapi=SUMMARY_DOC)
        router.get("/top-paths", self.top_paths, roles=DASHBOARD_ROLES, name="top_paths",
                   openapi=TOP_PATHS_DOC)

    def middleware(self) -> Sequence[Middleware]:
        # Global (paths=None) and outer (low priority): it times what the others add.
        return (Middleware(name="page_views", factory=self._tracking, priority=10),)

    def hooks(self) -> Sequence[Hook]:
        return (Hook(name="status_classes", type=HookType.POST_REQUEST, handler=self._count),)

    def _tracking(self, app: ASGIApp) -> ASGIApp:
        return TrackingMiddleware(app, settings=lambda: self.settings, submit=self.recorder.submit)

    def _count(self, ctx: HookContext) -> None:
        status = ctx.status
        label = f"{status // 100}xx" if isinstance(status, int) else "none"
        self.services.metrics.inc("requests", status_class=label)

    # -- storage -----------------------------------------------------------------
    async def _store(self, views: Sequence[PageView]) -> None:
        db = self.services.database
        await write_batch(db, views)
        now = time.time()
        if now - self._last_purge >= PURGE_EVERY_S:
            self._last_purge = now
            await purge_older_than(db, now - self.settings.retention_days * 86400)

    def _store_failed(self, exc: BaseException) -> None:
        self.services.logger.error("storing page views failed: %s: %s", type(exc).__name__, exc)

    # -- handlers ----------------------------------------------------------------
    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "analytics", "pong": True})

    async def summary(self, request: Request) -> Response:
        data = await summary(self.services.database)
        data["pending"] = self.recorder.pending
        data["dropped"] = self.recorder.dropped
        self._audit(request, "analytics.view_summary", {"total_views": data["total_views"]})
        return JSONResponse(data)

    async def top_paths(self, request: Request) -> Response:
        raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            return JSONResponse(
                {"error": f"limit: must be an integer from 1 to {MAX_LIMIT}, got {raw!r}"}, 422
            )
        paths = await top_paths(self.services.database, limit)
        self._audit(request, "analytics.view_top_paths", {"limit": limit, "returned": len(paths)})
        return JSONResponse({"limit": limit, "paths": paths})

    def _audit(self, request: Request, action: str, metadata: Mapping[str, Any]) -> None:
        user = current_user(request)
        self.services.audit.record(user.id if user else None, action, metadata)
