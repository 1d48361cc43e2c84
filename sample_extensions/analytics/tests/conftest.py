"""Shared helpers: read what the extension stored, after its queue drained."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Rows = list[dict[str, Any]]


@pytest.fixture
def stored(dufflebag_portal: Any, dufflebag_instance: Any, dufflebag_db: Any
           ) -> Callable[[str], Rows]:
    """``stored(sql)``: drain the page-view queue, then run ``sql`` on the extension's DB."""

    def run(sql: str) -> Rows:
        assert dufflebag_portal.call(dufflebag_instance.flush), "queue did not drain"
        rows: Rows = dufflebag_portal.call(dufflebag_db.fetch_all, sql)
        return rows

    return run
