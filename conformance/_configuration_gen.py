"""Configurations for the CF checks: ones the schema admits, ones it must refuse.

Generation is Hypothesis through schemathesis' JSON Schema engine (the
config schema becomes the request body of a one-operation OpenAPI
document), seeded from the run's seed so a failure reproduces.
(hypothesis-jsonschema 0.23.1 cannot draw objects with the Hypothesis this
harness pins: it calls an internal API that changed.) Validation is the
host's own (:mod:`dufflebag_harness.shared.config`, ``merge_defaults`` re-exported
here): defaults merged under the given configuration, the schema's own draft
(2020-12 by default), formats checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.shared.config import best_error, merge_defaults

__all__ = [
    "MAX_CONFIG_BYTES",
    "GenerationFailed",
    "admitted_configs",
    "boundary_configs",
    "merge_defaults",
    "rejected_configs",
    "schema_error",
    "wrong_typed",
]

#: Largest configuration sent (the host's JSON limit is 64 KiB).
MAX_CONFIG_BYTES = 16 * 1024


class GenerationFailed(Exception):
    """No configurations could be generated from this schema (the reason says why)."""


def schema_error(schema: Mapping[str, Any], config: Any) -> tuple[str, str] | None:
    """``(json_path, message)`` of the error the host would report, or ``None`` if valid."""
    error = best_error(schema, config)
    return None if error is None else (error.json_path, error.message)


def _sendable(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    try:
        text = json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return len(text.encode("utf-8")) <= MAX_CONFIG_BYTES


def _draw(schema: Mapping[str, Any], count: int, seed: int, negative: bool) -> list[Any]:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as use_seed
    from schemathesis import GenerationMode

    body_schema = dict(schema)
    doc: dict[str, Any] = {
        "openapi": "3.1.0", "info": {"title": "configuration", "version": "1"},
        "paths": {"/config": {"put": {
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": body_schema}}},
            "responses": {"200": {"description": "applied"}}}}},
    }
    for key in ("$defs", "definitions"):  # local references resolve against the document
        if key in schema:
            doc[key] = schema[key]
    found: list[Any] = []
    try:
        operation = schemathesis.openapi.from_dict(doc)["/config"]["PUT"]
        mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
        strategy = operation.as_strategy(generation_mode=mode)

        @use_seed(seed)
        @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(case: Any) -> None:
            found.append(case.body)

        collect()
    except SystemError:
        raise  # the interpreter's problem, not the schema's: an error, never a skip
    except Exception as exc:  # schemathesis and Hypothesis raise many kinds here
        raise GenerationFailed(f"{type(exc).__name__}: {exc}"[:500]) from None
    return found


def _unique(bodies: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for body in bodies:
        if not _sendable(body):
            continue
        key = json.dumps(body, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(body)
    return out


def admitted_configs(schema: Mapping[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    """Up to ``count`` distinct configurations drawn from what the schema admits."""
    return _unique(_draw(schema, count, seed, negative=False))


def rejected_configs(schema: Mapping[str, Any], defaults: Mapping[str, Any], count: int,
                     seed: int) -> list[dict[str, Any]]:
    """Configurations (objects) the schema refuses once merged with ``defaults``."""
    try:
        drawn = _draw(schema, count, seed, negative=True)
    except GenerationFailed:
        drawn = []
    return [c for c in _unique(drawn) if schema_error(schema, merge_defaults(defaults, c))]


def _edges(prop: Mapping[str, Any]) -> list[Any]:
    """Values at the edges of one property's schema (bounds, zero, empty)."""
    kinds = prop.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    out: list[Any] = [*prop.get("enum", [])[:3]]
    if "integer" in kinds or "number" in kinds:
        out += [prop[k] for k in ("minimum", "maximum") if isinstance(prop.get(k), int | float)]
        out.append(0)
    if "string" in kinds:
        out.append("")
    if "array" in kinds:
        out.append([])
    if "boolean" in kinds:
        out += [True, False]
    return out


def boundary_configs(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One setting at a time at its edges: where off-by-one and division by zero live.

    Random drawing finds these often, not always; these make a run reproducible
    whatever the seed. Some may be refused by the schema: callers validate.
    """
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return []
    out = [{key: value} for key, prop in sorted(props.items()) if isinstance(prop, Mapping)
           for value in _edges(prop)]
    return _unique(out)


def _wrong_value(value: Any) -> Any:
    """A value of a JSON type a setting with default ``value`` is unlikely to admit."""
    if isinstance(value, list):
        return "not-a-list"
    if isinstance(value, Mapping):
        return "not-an-object"
    if value is None:
        return None
    return {"unexpected": "object"}


def wrong_typed(defaults: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """For each top-level setting in ``defaults``: ``(json_path, {key: wrong-typed value})``."""
    out = []
    for key, value in sorted(defaults.items()):
        wrong = _wrong_value(value)
        if wrong is not None:
            out.append((f"$.{key}", {key: wrong}))
    return out
