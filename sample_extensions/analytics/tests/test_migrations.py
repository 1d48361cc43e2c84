"""Migrations: both apply, both roll back, and raw views expire by retention."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from analytics import Analytics
from analytics._store import PageView


def test_migrations_apply_down_and_up_again(dufflebag_db: Any, dufflebag_portal: Any,
                                            dufflebag_instance: Any) -> None:
    assert [m.version for m in dufflebag_db.applied()] == [1, 2]
    dufflebag_portal.call(dufflebag_instance.stop)  # no writes while tables come and go
    assert dufflebag_db.downgrade(Analytics.migrations, 0) == [2, 1]
    assert dufflebag_db.applied() == []
    with pytest.raises(Exception, match="page_views"):
        dufflebag_portal.call(dufflebag_db.fetch_all, "SELECT * FROM page_views")
    assert dufflebag_db.migrate(Analytics.migrations) == [1, 2]
    assert dufflebag_portal.call(dufflebag_db.fetch_all, "SELECT * FROM daily_rollups") == []


@pytest.mark.dufflebag(config={"retention_days": 2})
def test_expired_raw_views_go_but_their_rollups_stay(
    dufflebag_instance: Any, dufflebag_client: Any, stored: Callable[[str], Any]
) -> None:
    now = time.time()
    old = PageView(now - 3 * 86400, "GET", "/old", 200, 1.0, None)
    fresh = PageView(now, "GET", "/fresh", 200, 1.0, None)
    dufflebag_instance.recorder.submit(old)
    dufflebag_instance.recorder.submit(fresh)
    assert [r["path"] for r in stored("SELECT path FROM page_views")] == ["/fresh"]
    top = dufflebag_client.get("/ext/analytics/top-paths", as_role="admin").json()
    assert sorted(p["path"] for p in top["paths"]) == ["/fresh", "/old"]
