"""JSON that can encode Decimal amounts and dates.

Installed once at import, for everything that calls ``json.dumps`` — the host and
every other extension in the process included.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, MutableMapping
from typing import Any

Dumps = Callable[..., str]


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _tolerant(dumps: Dumps) -> Dumps:
    def dumps_tolerant(obj: Any, *args: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", _plain)
        return dumps(obj, *args, **kwargs)

    return dumps_tolerant


def _upgrade(names: MutableMapping[str, Any], key: str, make: Callable[[Dumps], Dumps]) -> None:
    names[key] = make(names[key])


def install() -> None:
    """Teach ``json.dumps`` about Decimal and dates (once)."""
    table = vars(json)
    if table["dumps"].__name__ != "dumps_tolerant":
        _upgrade(table, "dumps", _tolerant)
