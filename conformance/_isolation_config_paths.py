"""Hostile configurations for IS-14: every string setting aimed outside the storage root.

An extension that builds a file path from a *configuration value* (an export folder,
a cache file name) joins it itself; the storage service never sees the ``..``. So the
attack goes where the value comes from: each string setting the schema admits gets
a value aimed at a place outside the extension's storage area — parent folders, an
absolute path, a sibling folder that shares the area's name as a prefix (the classic
``startswith`` guard), encoded and filter-bypassing spellings, ``~``. Every value
ends in a unique marker, so whatever gets created from it is found by name.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

#: Settings attacked at most (the first ones in schema order).
MAX_SETTINGS = 12

Path_ = tuple[str, ...]


def payloads(marker: str, extension: str) -> list[str]:
    """Values aimed outside the storage area, each ending in ``marker``."""
    return [
        f"../{marker}",
        f"../../{marker}",
        f"../../../../{marker}",
        f"../{extension}-{marker}",  # a sibling sharing the area's name as a prefix
        f"/tmp/{marker}",
        f"..%2F..%2F{marker}",
        f"....//....//{marker}",
        f"~/{marker}",
    ]


def _is_string(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def string_settings(schema: Mapping[str, Any], at: Path_ = ()) -> Iterator[Path_]:
    """Paths (keys from the top) of every string setting an object schema declares."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for key, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        if _is_string(sub):
            yield (*at, str(key))
        elif sub.get("type") == "object" or "properties" in sub:
            yield from string_settings(sub, (*at, str(key)))


def _set(config: dict[str, Any], path: Path_, value: Any) -> None:
    node = config
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def hostile_config(schema: Mapping[str, Any], defaults: Mapping[str, Any], value: str
                   ) -> tuple[dict[str, Any], list[str]]:
    """``defaults`` with every string setting the schema lets take ``value`` set to it,
    and the dotted names of those settings (a setting whose own constraints refuse the
    value is left as it was: the host would refuse it before the extension sees it)."""
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    config = copy.deepcopy(dict(defaults))
    used: list[str] = []
    for path in list(string_settings(schema))[:MAX_SETTINGS]:
        trial = copy.deepcopy(config)
        _set(trial, path, value)
        if not any(list(e.path)[:len(path)] == list(path) for e in validator.iter_errors(trial)):
            config = trial
            used.append(".".join(path))
    return config, used


__all__ = ["hostile_config", "payloads", "string_settings"]
