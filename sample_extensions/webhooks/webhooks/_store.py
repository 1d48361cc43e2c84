"""Tables and SQL: subscriptions and the delivery log.

Plain SQL that SQLite and PostgreSQL both accept, without schema names (the
host runs it in ``ext_webhooks``). Ids are generated here (uuid4 hex), because
the two databases disagree on auto-increment syntax; flags are integers 0/1
for the same reason. The secret is stored (it is needed to sign) but no query
that feeds an API response ever selects it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.sdk import DatabaseService, Migration

__all__ = [
    "LOG_LIMIT",
    "MIGRATIONS",
    "Attempt",
    "Subscription",
    "active_subscriptions",
    "count_subscriptions",
    "delete_subscription",
    "deliveries",
    "enable",
    "find_for_delivery",
    "get_subscription",
    "insert_subscription",
    "list_subscriptions",
    "record_attempt",
    "record_outcome",
]

#: Most delivery-log rows one API call returns (newest first).
LOG_LIMIT = 100

MIGRATIONS = (
    Migration(
        version=1,
        description="subscriptions: where to deliver which events, and their secrets",
        up="""
            CREATE TABLE subscriptions (
                id CHAR(32) PRIMARY KEY,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                path_prefix TEXT NOT NULL,
                description TEXT NOT NULL,
                secret CHAR(64) NOT NULL,
                active INTEGER NOT NULL DEFAULT 1,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                disabled_reason TEXT,
                created_by INTEGER,
                created_at DOUBLE PRECISION NOT NULL
            );
        """,
        down="DROP TABLE subscriptions;",
    ),
    Migration(
        version=2,
        description="deliveries: one row per delivery attempt",
        up="""
            CREATE TABLE deliveries (
                delivery_id CHAR(32) NOT NULL,
                attempt INTEGER NOT NULL,
                subscription_id CHAR(32) NOT NULL,
                event VARCHAR(64) NOT NULL,
                ok INTEGER NOT NULL,
                status_code INTEGER,
                error TEXT,
                duration_ms DOUBLE PRECISION NOT NULL,
                at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (delivery_id, attempt)
            );
            CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, at);
        """,
        down="DROP INDEX deliveries_by_subscription; DROP TABLE deliveries;",
    ),
)

_LIST = ("SELECT id, url, events, path_prefix, description, active, consecutive_failures, "
         "disabled_reason, created_by, created_at FROM subscriptions")


@dataclass(frozen=True)
class Subscription:
    """An active subscription as the dispatcher needs it (secret included: never serialized)."""

    id: str
    url: str
    events: frozenset[str]
    path_prefix: str
    secret: str = ""

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"Subscription(id={self.id!r}, events={sorted(self.events)!r})"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt."""

    delivery_id: str
    attempt: int
    subscription_id: str
    event: str
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


def _view(row: dict[str, Any]) -> dict[str, Any]:
    """A subscription as the API shows it (no secret; flags as booleans, events as a list)."""
    out = dict(row)
    out["events"] = sorted(filter(None, str(row["events"]).split(",")))
    out["active"] = bool(row["active"])
    return out


async def insert_subscription(db: DatabaseService, *, url: str, events: Sequence[str],
                              path_prefix: str, description: str, secret: str,
                              created_by: int | None) -> dict[str, Any]:
    row = {"id": uuid.uuid4().hex, "url": url, "events": ",".join(sorted(events)),
           "path_prefix": path_prefix, "description": description, "secret": secret,
           "created_by": created_by, "created_at": time.time()}
    await db.execute(
        "INSERT INTO subscriptions (id, url, events, path_prefix, description, secret, "
        "created_by, created_at) VALUES (:id, :url, :events, :path_prefix, :description, "
        ":secret, :created_by, :created_at)",
        row,
    )
    del row["secret"]
    return _view({**row, "active": 1, "consecutive_failures": 0, "disabled_reason": None})


async def count_subscriptions(db: DatabaseService) -> int:
    rows = await db.fetch_all("SELECT COUNT(*) AS n FROM subscriptions")
    return int(rows[0]["n"])


async def list_subscriptions(db: DatabaseService) -> list[dict[str, Any]]:
    rows = await db.fetch_all(_LIST + " ORDER BY created_at, id")
    return [_view(r) for r in rows]


async def get_subscription(db: DatabaseService, sub_id: str) -> dict[str, Any] | None:
    rows = await db.fetch_all(_LIST + " WHERE id = :id", {"id": sub_id})
    return _view(rows[0]) if rows else None


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(row["id"], row["url"], frozenset(str(row["events"]).split(",")),
                        row["path_prefix"], row["secret"])


async def active_subscriptions(db: DatabaseService) -> list[Subscription]:
    rows = await db.fetch_all(
        "SELECT id, url, events, path_prefix, secret FROM subscriptions WHERE active = 1")
    return [_subscription(r) for r in rows]


async def find_for_delivery(db: DatabaseService, sub_id: str) -> Subscription | None:
    """One subscription with its secret, active or not (for test deliveries)."""
    rows = await db.fetch_all(
        "SELECT id, url, events, path_prefix, secret FROM subscriptions WHERE id = :id",
        {"id": sub_id})
    return _subscription(rows[0]) if rows else None


async def delete_subscription(db: DatabaseService, sub_id: str) -> bool:
    await db.execute("DELETE FROM deliveries WHERE subscription_id = :id", {"id": sub_id})
    return await db.execute("DELETE FROM subscriptions WHERE id = :id", {"id": sub_id}) > 0


async def enable(db: DatabaseService, sub_id: str) -> bool:
    """Re-activate a subscription and forget its failures; False when it does not exist."""
    changed = await db.execute(
        "UPDATE subscriptions SET active = 1, consecutive_failures = 0, disabled_reason = NULL "
        "WHERE id = :id", {"id": sub_id})
    return changed > 0


async def record_attempt(db: DatabaseService, a: Attempt) -> None:
    await db.execute(
        "INSERT INTO deliveries (delivery_id, attempt, subscription_id, event, ok, status_code, "
        "error, duration_ms, at) VALUES (:delivery_id, :attempt, :subscription_id, :event, :ok, "
        ":status_code, :error, :duration_ms, :at)",
        {"delivery_id": a.delivery_id, "attempt": a.attempt, "subscription_id": a.subscription_id,
         "event": a.event, "ok": int(a.ok), "status_code": a.status_code, "error": a.error,
         "duration_ms": a.duration_ms, "at": time.time()},
    )


async def record_outcome(db: DatabaseService, sub_id: str, delivered: bool,
                         disable_after: int) -> bool:
    """Count a delivery's final outcome; True when this failure disabled the subscription."""
    if delivered:
        await db.execute("UPDATE subscriptions SET consecutive_failures = 0 WHERE id = :id",
                         {"id": sub_id})
        return False
    await db.execute(
        "UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1 WHERE id = :id",
        {"id": sub_id})
    disabled = await db.execute(
        "UPDATE subscriptions SET active = 0, disabled_reason = :reason "
        "WHERE id = :id AND active = 1 AND consecutive_failures >= :limit",
        {"id": sub_id, "limit": disable_after,
         "reason": f"disabled after {disable_after} failed deliveries in a row"})
    return disabled > 0


async def deliveries(db: DatabaseService, sub_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        "SELECT delivery_id, attempt, event, ok, status_code, error, duration_ms, at "
        "FROM deliveries WHERE subscription_id = :id ORDER BY at DESC, attempt DESC LIMIT :n",
        {"id": sub_id, "n": LOG_LIMIT})
    return [{**r, "ok": bool(r["ok"])} for r in rows]
