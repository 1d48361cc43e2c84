"""Secrets the harness plants to see whether an extension logs them (parent side).

A configuration field is secret when its schema says ``"writeOnly": true``,
``"x-secret": true`` or ``"format": "password"``, or its name looks like a
credential (token, password, secret, api key, private key, credential). Each
gets a fresh canary value that its own schema accepts; the seeded users' bearer
tokens and a signup password are secrets too. The extension's log output must contain none of them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

__all__ = ["SECRET_NAME", "canary_config", "secret_fields"]

SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|credential)", re.I)


def secret_fields(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                             dict[str, Any]]]:
    """(path, property schema) of every secret-looking string property, depth first."""
    if not isinstance(schema, Mapping):
        return
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for key, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        here = (*path, str(key))
        kind = sub.get("type")
        if kind == "object" or isinstance(sub.get("properties"), Mapping):
            yield from secret_fields(sub, here)
            continue
        marked = (sub.get("writeOnly") is True or sub.get("x-secret") is True
                  or sub.get("format") == "password")
        if (marked or SECRET_NAME.search(str(key))) and kind in (None, "string"):
            yield here, dict(sub)


def _canary(sub: Mapping[str, Any]) -> str | None:
    """A random value ``sub`` accepts, long enough to be unmistakable; None if none fits."""
    token = secrets.token_hex(16)
    for candidate in (f"dbh-secret-{token}", token, f"Dbh1{token}", token[:12], token[:8]):
        try:
            jsonschema.validate(candidate, dict(sub))
        except jsonschema.ValidationError:
            continue
        except jsonschema.SchemaError:
            return None
        return candidate
    return None


def canary_config(schema: Any) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(config with canaries, {dotted path: canary}, paths no canary fitted)."""
    config: dict[str, Any] = {}
    planted: dict[str, str] = {}
    skipped: list[str] = []
    for path, sub in secret_fields(schema):
        value = _canary(sub)
        if value is None:
            skipped.append(".".join(path))
            continue
        node = config
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        planted[".".join(path)] = value
    return config, planted, skipped
