"""Evidence hygiene: secrets redacted, size capped, anything non-JSON made plain."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from dufflebag_harness.reports import clean_evidence, clean_result, make_result
from dufflebag_harness.reports._evidence import REDACTED, evidence_text


def test_secret_looking_keys_and_values_are_redacted() -> None:
    cleaned = clean_evidence({
        "Authorization": "Bearer abc.def.ghi",
        "nested": {"api_key": "k-123", "X-Session-Id": "s1", "user": "alice"},
        "log": "sent Authorization: Bearer eyJhbGciOi.x.y to postgresql://app:pa55@db:5432/x",
        "password": None,
    })
    assert cleaned["Authorization"] == REDACTED
    assert cleaned["nested"] == {"api_key": REDACTED, "X-Session-Id": REDACTED, "user": "alice"}
    assert "eyJhbGciOi" not in cleaned["log"] and "pa55" not in cleaned["log"]
    assert cleaned["log"].endswith(f"Bearer {REDACTED} to postgresql://app:{REDACTED}@db:5432/x")
    assert cleaned["password"] is None  # nothing to hide


def test_non_json_values_become_plain_json() -> None:
    raw: dict[Any, Any] = {"when": date(2026, 1, 2), "raw": b"\xffok", "ids": {3, 1},
                           "ratio": float("nan"), 5: "int key"}
    cleaned = clean_evidence(raw)
    json.dumps(cleaned, allow_nan=False)
    assert cleaned["when"] == "datetime.date(2026, 1, 2)"
    assert cleaned["ids"] == [1, 3]
    assert cleaned["5"] == "int key"


def test_large_evidence_is_replaced_by_a_marked_preview() -> None:
    cleaned = clean_evidence({"body": "a:" * 500_000})
    assert cleaned["truncated"] is True
    assert cleaned["original_bytes"] > 1_000_000
    assert len(json.dumps(cleaned)) < 4096 + 200


def test_display_text_is_cut_with_a_visible_marker() -> None:
    text = evidence_text({"body": "x" * 10_000}, limit=1000)
    assert text.endswith("bytes in all]")
    assert len(text.encode()) < 1100


def test_results_are_made_safe_to_sign() -> None:
    raw = {"check": "LC-01", "backend": "sqlite", "status": "fail", "severity": "required",
           "title": "t", "reason": "r" * 10_000, "evidence": {"token": "t0k3n"},
           "duration_s": 0.123456, "self_reported": True, "attempts": 2}
    result = clean_result(raw)
    assert len(result["reason"]) == 4000
    assert result["evidence"] == {"token": REDACTED}
    assert result["duration_s"] == 0.1235
    assert result == make_result("LC-01", "sqlite", "fail", "required", title="t",
                                 reason="r" * 4000, evidence={"token": "x"},
                                 duration_s=0.123456, self_reported=True, attempts=2)
