"""Configuration: the JSON Schema the host validates, and the settings object we keep.

The host validates against :data:`CONFIG_SCHEMA` before calling ``apply_config``;
:func:`parse` repeats the checks because ``apply_config`` is public API and a
bad value must be refused with its JSON path, never half-applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.sdk import ConfigError

__all__ = ["CONFIG_SCHEMA", "DEFAULT_CONFIG", "HOST_PATTERN", "Settings", "parse"]

#: An allowed host: a name (``hooks.example.org``), a wildcard for its subdomains
#: (``*.example.org``), an IPv4 address, or an IPv6 address in brackets.
#: Labels are unambiguous between dots, so matching stays linear on hostile input.
HOST_PATTERN = r"^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$|^\[[0-9A-Fa-f:.]+\]$"
_HOST = re.compile(HOST_PATTERN)

CONFIG_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "webhooks configuration",
    "type": "object",
    "properties": {
        "allowed_hosts": {
            "description": "Hosts subscription URLs may point to (declare them as network "
                           "capabilities too).",
            "type": "array",
            "items": {"type": "string", "pattern": HOST_PATTERN, "maxLength": 253},
            "maxItems": 100,
        },
        "max_attempts": {
            "description": "Attempts per delivery, the first one included.",
            "type": "integer", "minimum": 1, "maximum": 10,
        },
        "backoff_base_s": {
            "description": "Wait before the first retry; doubled before each next one.",
            "type": "number", "minimum": 0, "maximum": 60,
        },
        "backoff_max_s": {
            "description": "Longest wait between two attempts.",
            "type": "number", "minimum": 0, "maximum": 600,
        },
        "timeout_s": {
            "description": "Time limit of one attempt (connect, send, read the status).",
            "type": "number", "exclusiveMinimum": 0, "maximum": 60,
        },
        "disable_after": {
            "description": "Failed deliveries in a row after which a subscription is disabled.",
            "type": "integer", "minimum": 1, "maximum": 1000,
        },
        "max_subscriptions": {
            "description": "Most subscriptions kept at once.",
            "type": "integer", "minimum": 1, "maximum": 10000,
        },
    },
    "additionalProperties": False,
}

DEFAULT_CONFIG: Mapping[str, Any] = {
    "allowed_hosts": ["127.0.0.1", "localhost"],
    "max_attempts": 4,
    "backoff_base_s": 0.5,
    "backoff_max_s": 30.0,
    "timeout_s": 5.0,
    "disable_after": 5,
    "max_subscriptions": 100,
}


@dataclass(frozen=True)
class Settings:
    """The applied configuration; replaced as a whole so readers never see a mix."""

    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    max_attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    timeout_s: float = 5.0
    disable_after: int = 5
    max_subscriptions: int = 100

    def allows(self, host: str) -> bool:
        """Whether deliveries may go to ``host`` (case-insensitive; ``*.`` matches subdomains)."""
        host = host.lower().rstrip(".")
        for pattern in self.allowed_hosts:
            pattern = pattern.lower()
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]):
                    return True
            elif host == pattern.strip("[]"):
                return True
        return False

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): bounded doubling."""
        return float(min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s))


def _is_int(value: object) -> bool:
    """JSON Schema's integer: ``3`` and also ``3.0`` (a JSON number with no fraction)."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def _number(merged: Mapping[str, Any], key: str, low: float, high: float,
            *, integer: bool = False, above: bool = False) -> float:
    value = merged[key]
    ok_type = _is_int(value) or (not integer and isinstance(value, float) and value == value)
    in_range = ok_type and (low < value if above else low <= value) and value <= high
    if not in_range:
        kind = "an integer" if integer else "a number"
        lower = f"above {low:g}" if above else f"from {low:g}"
        raise ConfigError(f"{value!r} must be {kind} {lower} to {high:g}", f"$.{key}")
    return value  # type: ignore[no-any-return]


def parse(config: Mapping[str, Any]) -> Settings:
    """Settings for ``config`` (missing keys take defaults); ConfigError names the bad path."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"expected an object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(CONFIG_SCHEMA["properties"]))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}", f"$.{unknown[0]}")
    merged = {**DEFAULT_CONFIG, **config}
    hosts = merged["allowed_hosts"]
    if not isinstance(hosts, list | tuple) or len(hosts) > 100:
        raise ConfigError("must be an array of at most 100 host names", "$.allowed_hosts")
    for i, host in enumerate(hosts):
        if not isinstance(host, str) or len(host) > 253 or not _HOST.search(host):
            raise ConfigError(f"{host!r} is not a host name, '*.domain' or an IP address",
                              f"$.allowed_hosts[{i}]")
    return Settings(
        allowed_hosts=tuple(hosts),
        max_attempts=int(_number(merged, "max_attempts", 1, 10, integer=True)),
        backoff_base_s=float(_number(merged, "backoff_base_s", 0, 60)),
        backoff_max_s=float(_number(merged, "backoff_max_s", 0, 600)),
        timeout_s=float(_number(merged, "timeout_s", 0, 60, above=True)),
        disable_after=int(_number(merged, "disable_after", 1, 1000, integer=True)),
        max_subscriptions=int(_number(merged, "max_subscriptions", 1, 10000, integer=True)),
    )
