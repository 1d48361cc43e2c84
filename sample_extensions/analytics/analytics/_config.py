"""Configuration: the JSON Schema the host validates, and the settings object we keep.

The host validates every configuration against :data:`CONFIG_SCHEMA` before it
calls ``apply_config``; :func:`parse` checks the same rules again because
``apply_config`` is public API (tests and tools call it directly) and a bad
value must be refused with its JSON path, never half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.sdk import ConfigError

__all__ = ["CONFIG_SCHEMA", "DEFAULT_CONFIG", "Settings", "parse"]

CONFIG_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "analytics configuration",
    "type": "object",
    "properties": {
        "excluded_paths": {
            "description": "Request path prefixes that are never recorded.",
            "type": "array",
            "items": {"type": "string", "pattern": "^/"},
            "uniqueItems": True,
        },
        "retention_days": {
            "description": "Days raw page views are kept (daily roll-ups are kept).",
            "type": "integer",
            "minimum": 1,
            "maximum": 3650,
        },
        "sample_rate": {
            "description": "Fraction of requests recorded: 1 records all, 0 none.",
            "type": "number",
            "minimum": 0,
            "maximum": 1,
        },
    },
    "additionalProperties": False,
}

DEFAULT_CONFIG: Mapping[str, Any] = {
    "excluded_paths": ["/healthz", "/metrics"],
    "retention_days": 90,
    "sample_rate": 1.0,
}


@dataclass(frozen=True)
class Settings:
    """The applied configuration; replaced as a whole so readers never see a mix."""

    excluded_paths: tuple[str, ...] = ("/healthz", "/metrics")
    retention_days: int = 90
    sample_rate: float = 1.0

    def excludes(self, path: str) -> bool:
        return path.startswith(self.excluded_paths)


def _is_int(value: object) -> bool:
    """An integer as JSON Schema counts it: ``5`` and ``5.0`` alike (never a bool)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def parse(config: Mapping[str, Any]) -> Settings:
    """Settings for ``config`` (missing keys take defaults); ConfigError names the bad path."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"expected an object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(CONFIG_SCHEMA["properties"]))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}", f"$.{unknown[0]}")
    merged = {**DEFAULT_CONFIG, **config}
    excluded = merged["excluded_paths"]
    if not isinstance(excluded, list | tuple):
        raise ConfigError("must be an array of path prefixes", "$.excluded_paths")
    for i, prefix in enumerate(excluded):
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ConfigError(f"{prefix!r} must be a string starting with '/'",
                              f"$.excluded_paths[{i}]")
    days = merged["retention_days"]
    if not _is_int(days) or not 1 <= days <= 3650:
        raise ConfigError(f"{days!r} must be an integer from 1 to 3650", "$.retention_days")
    rate = merged["sample_rate"]
    if not (_is_int(rate) or isinstance(rate, float)) or not 0 <= rate <= 1:
        raise ConfigError(f"{rate!r} must be a number from 0 to 1", "$.sample_rate")
    return Settings(tuple(excluded), int(days), float(rate))
