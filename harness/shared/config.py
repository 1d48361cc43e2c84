"""An extension's configuration against its JSON Schema, the same way on both sides.

The host merges an extension's defaults under the configuration it is given
and validates the result; the CF checks predict, from outside, what the host
will admit and which error it will name. Both use these two functions, so the
prediction cannot drift from the host: defaults are merged recursively for
nested objects, and validation uses the schema's own draft (2020-12 when it
names none) with formats checked, reporting jsonschema's best match.

Pure functions over JSON data; nothing here imports either side.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import Draft202012Validator, validator_for

__all__ = ["best_error", "merge_defaults"]


def merge_defaults(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` laid over ``defaults``, recursively for nested objects (inputs not mutated)."""
    merged: dict[str, Any] = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_defaults(base, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def best_error(schema: Mapping[str, Any], config: Any) -> ValidationError | None:
    """The error the host reports for ``config`` under ``schema``, or ``None`` if it is valid.

    ``schema`` is assumed to be a valid JSON Schema (the host checks it first).
    """
    cls = validator_for(schema, default=Draft202012Validator)
    return best_match(cls(schema, format_checker=FormatChecker()).iter_errors(config))
