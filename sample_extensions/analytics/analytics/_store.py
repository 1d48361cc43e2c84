"""Tables and SQL: migrations, batched writes, dashboard reads.

Every statement is plain SQL that SQLite and PostgreSQL both accept, written
without schema names (the host runs it in ``ext_analytics``). Raw page views
expire after ``retention_days``; daily roll-ups are kept, so top paths survive
the raw data.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.sdk import DatabaseService, Migration

__all__ = ["MIGRATIONS", "PageView", "purge_older_than", "summary", "top_paths", "write_batch"]

MIGRATIONS = (
    Migration(
        version=1,
        description="page_views: one row per recorded request",
        up="""
            CREATE TABLE page_views (
                ts DOUBLE PRECISION NOT NULL,
                day CHAR(10) NOT NULL,
                method VARCHAR(16) NOT NULL,
                path TEXT NOT NULL,
                status INTEGER NOT NULL,
                duration_ms DOUBLE PRECISION NOT NULL,
                user_id INTEGER
            );
            CREATE INDEX page_views_ts ON page_views (ts);
        """,
        down="DROP INDEX page_views_ts; DROP TABLE page_views;",
    ),
    Migration(
        version=2,
        description="daily_rollups: views and server errors per day and path",
        up="""
            CREATE TABLE daily_rollups (
                day CHAR(10) NOT NULL,
                path TEXT NOT NULL,
                views INTEGER NOT NULL DEFAULT 0,
                errors INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (day, path)
            );
        """,
        down="DROP TABLE daily_rollups;",
    ),
)

_UPSERT_ROLLUP = (
    "INSERT INTO daily_rollups (day, path, views, errors) VALUES (:day, :path, :views, :errors) "
    "ON CONFLICT (day, path) DO UPDATE SET views = daily_rollups.views + excluded.views, "
    "errors = daily_rollups.errors + excluded.errors"
)
_COLUMNS = ("ts", "day", "method", "path", "status", "duration_ms", "user_id")
_INSERT_VIEW = (
    "INSERT INTO page_views (ts, day, method, path, status, duration_ms, user_id) "
    "VALUES (:ts, :day, :method, :path, :status, :duration_ms, :user_id)"
)


@dataclass(frozen=True, slots=True)
class PageView:
    """One recorded request, as the middleware saw it."""

    ts: float
    method: str
    path: str
    status: int
    duration_ms: float
    user_id: int | None

    @property
    def day(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self.ts))


async def write_batch(db: DatabaseService, views: Sequence[PageView]) -> None:
    """Insert ``views`` in one statement, then add them to the daily roll-ups."""
    if not views:
        return
    for view in views:
        values = (view.ts, view.day, view.method, view.path, view.status,
                  view.duration_ms, view.user_id)
        await db.execute(_INSERT_VIEW, dict(zip(_COLUMNS, values, strict=True)))
    views_by_key = Counter((v.day, v.path) for v in views)
    errors_by_key = Counter((v.day, v.path) for v in views if v.status >= 500)
    for (day, path), count in sorted(views_by_key.items()):
        await db.execute(_UPSERT_ROLLUP, {"day": day, "path": path, "views": count,
                                          "errors": errors_by_key[(day, path)]})


async def purge_older_than(db: DatabaseService, cutoff_ts: float) -> int:
    """Delete raw page views recorded before ``cutoff_ts``; returns how many went."""
    return await db.execute("DELETE FROM page_views WHERE ts < :cutoff", {"cutoff": cutoff_ts})


async def summary(db: DatabaseService) -> dict[str, Any]:
    """Totals over the raw page views still kept."""
    [totals] = await db.fetch_all(
        "SELECT COUNT(*) AS views, COUNT(DISTINCT user_id) AS users, "
        "AVG(duration_ms) AS avg_ms FROM page_views"
    )
    classes = await db.fetch_all(
        "SELECT status / 100 AS cls, COUNT(*) AS n FROM page_views GROUP BY status / 100"
    )
    by_class = {f"{c}xx": 0 for c in range(1, 6)}
    for row in classes:
        by_class[f"{int(row['cls'])}xx"] = int(row["n"])
    avg = totals["avg_ms"]
    return {
        "total_views": int(totals["views"]),
        "unique_users": int(totals["users"]),
        "avg_duration_ms": None if avg is None else round(float(avg), 3),
        "by_status_class": by_class,
    }


async def top_paths(db: DatabaseService, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most viewed paths over all roll-ups, most viewed first."""
    rows = await db.fetch_all(
        "SELECT path, SUM(views) AS views, SUM(errors) AS errors FROM daily_rollups "
        "GROUP BY path ORDER BY SUM(views) DESC, path ASC LIMIT :limit",
        {"limit": limit},
    )
    return [{"path": r["path"], "views": int(r["views"]), "errors": int(r["errors"])}
            for r in rows]
