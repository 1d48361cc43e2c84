"""Configuration: defaults merged, validated against the extension's JSON Schema.

Merging and validation themselves are :mod:`dufflebag_harness.shared.config`,
which the CF checks use to predict this module's answers (``merge_defaults`` is
re-exported here for the host's modules).

Errors are :class:`dufflebag_harness.sdk.ConfigError` carrying the JSON path of the
offending value (``$.retries``), so an author and the management API can say
exactly what was wrong. Validation never mutates the input.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for

from dufflebag_harness.sdk import ConfigError, Extension
from dufflebag_harness.shared.config import best_error, merge_defaults

__all__ = ["apply_config_now", "check_schema", "merge_defaults", "validate_config"]

_MAX_MESSAGE = 300


def check_schema(schema: object) -> None:
    """Raise :class:`ConfigError` unless ``schema`` is a valid JSON Schema."""
    if not isinstance(schema, Mapping):
        raise ConfigError("config_schema must be a JSON Schema object", path="$")
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = "config_schema" + exc.json_path.removeprefix("$")
        raise ConfigError(
            f"config_schema is not valid JSON Schema at {where}: {exc.message}"
        ) from None


def validate_config(schema: Mapping[str, Any], config: object) -> dict[str, Any]:
    """Return ``config`` as a dict if the schema admits it, else raise :class:`ConfigError`."""
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"configuration must be an object, got {type(config).__name__}", path="$"
        )
    check_schema(schema)
    error = best_error(schema, dict(config))
    if error is not None:
        message = error.message
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 1] + "…"
        raise ConfigError(message, path=error.json_path)
    return dict(config)


def apply_config_now(ext: Extension, config: Mapping[str, Any]) -> None:
    """Call ``ext.apply_config``; every failure becomes a :class:`ConfigError`.

    ``apply_config`` is synchronous by contract (hot reload may come from any
    thread); an awaitable result is refused rather than silently dropped.
    """
    try:
        result: object = ext.apply_config(config)  # type: ignore[func-returns-value]
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"apply_config raised {type(exc).__name__}: {exc}") from exc
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()
        raise ConfigError("apply_config must be a plain (synchronous) method")
