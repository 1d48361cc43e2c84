"""The shape of ``extension.toml``: tables, keys and types (JSON Schema).

jsonschema does the structural walk (unknown keys, missing keys, wrong types,
bounds); this module only turns its errors into messages that name the TOML
field, e.g. ``[extension].version: expected a string, got integer``. Meaning
(semver, specifiers, paths) is checked afterwards in :mod:`.manifest`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

__all__ = ["ARRAY_TABLES", "field_name", "structural_problems"]

_STR: dict[str, Any] = {"type": "string"}
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_TEXT_LIST: dict[str, Any] = {"type": "array", "items": _TEXT, "uniqueItems": True}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}


def _table(properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


SCHEMA: dict[str, Any] = _table(
    {
        "extension": _table(
            {
                "name": _STR,
                "version": _STR,
                "entry": _STR,
                "description": _STR,
                "author": _STR,
                "license": _STR,
                "homepage": _STR,
                "host_api": _STR,
                "tags": _TEXT_LIST,
            },
            required=("name", "version", "entry"),
        ),
        "dependencies": {"type": "object", "additionalProperties": _STR},
        "capabilities": _table(
            {"network": _TEXT_LIST, "filesystem": _TEXT_LIST, "subprocess": {"type": "boolean"}}
        ),
        "permissions": {
            "type": "array",
            "items": _table(
                {"name": _TEXT, "resource": _TEXT, "actions": {**_TEXT_LIST, "minItems": 1}},
                required=("name", "resource"),
            ),
        },
        "quotas": _table(
            {
                "memory_mb": _COUNT,
                "concurrent_requests": _COUNT,
                "db_connections": _COUNT,
                "requests_per_second": _COUNT,
                "storage_mb": _COUNT,
                "request_timeout_s": {"type": "number", "minimum": 0},
            }
        ),
        "tests": _table({"paths": _TEXT_LIST, "source": _TEXT_LIST}),
        "waivers": {
            "type": "array",
            "items": _table(
                {"check": _STR, "reason": _TEXT, "expires": {"type": "date"}},
                required=("check", "reason", "expires"),
            ),
        },
        "public_routes": {
            "type": "array",
            "items": _table(
                {"method": _TEXT, "path": _TEXT, "reason": _TEXT},
                required=("method", "path", "reason"),
            ),
        },
    },
    required=("extension",),
)

#: Top-level keys written as arrays of tables (``[[permissions]]``).
ARRAY_TABLES = frozenset({"permissions", "waivers", "public_routes"})


def _is_date(_checker: Any, instance: Any) -> bool:
    # TOML datetimes are ``datetime`` objects, which subclass ``date``: refuse them.
    return isinstance(instance, dt.date) and not isinstance(instance, dt.datetime)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("date", _is_date),
)
_VALIDATOR = _Validator(SCHEMA)

_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "array"),
    (dict, "table"),
    (dt.datetime, "datetime"),
    (dt.date, "date"),
    (dt.time, "time"),
)
_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true/false)",
    "array": "an array",
    "object": "a table",
    "date": "a TOML date such as 2027-06-30",
}


def _toml_type(value: Any) -> str:
    for kind, name in _TOML_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def field_name(path: Iterable[str | int]) -> str:
    """``("extension", "name")`` → ``[extension].name``; arrays of tables as ``[[k]][i]``."""
    parts = list(path)
    if not parts:
        return "(top level)"
    head, rest = parts[0], parts[1:]
    text = f"[[{head}]]" if head in ARRAY_TABLES else f"[{head}]"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    path = list(error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in known)
        out = []
        for key in extra:
            hint = difflib.get_close_matches(key, known, n=1)
            more = f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(known)})"
            if path:
                out.append((field_name([*path, key]), f"unknown key{more}"))
            elif isinstance(instance[key], dict | list):
                out.append((f"[{key}]", f"unknown table{more}"))
            else:
                out.append((key, f"unknown top-level key{more}"))
        return out
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return [(field_name([*path, k]), "missing required key") for k in missing]
    if error.validator == "type":
        expected = _EXPECTED.get(str(error.validator_value), str(error.validator_value))
        return [(field_name(path), f"expected {expected}, got {_toml_type(instance)}")]
    if error.validator == "minLength":
        return [(field_name(path), "must not be empty")]
    if error.validator == "uniqueItems":
        return [(field_name(path), "has duplicate entries")]
    return [(field_name(path), error.message)]


def structural_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Every structural problem of a parsed manifest as ``(field, message)``, sorted."""
    problems: set[tuple[str, str]] = set()
    for error in _VALIDATOR.iter_errors(data):
        problems.update(_describe(error))
    return sorted(problems)
