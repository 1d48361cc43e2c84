"""A json module that counts encodes (and remembers a few)."""

from __future__ import annotations

import json
import sys
import types
from collections import deque
from typing import Any


class CountingJSON(types.ModuleType):
    """Behaves as :mod:`json`; ``encodes`` counts calls of ``dumps``."""

    def __init__(self) -> None:
        super().__init__("json", json.__doc__)
        self.__dict__.update({k: v for k, v in vars(json).items() if not k.startswith("__")})
        self.encodes = 0
        self.recent: deque[str] = deque(maxlen=50)

    def dumps(self, obj: Any, *args: Any, **kwargs: Any) -> str:
        text = json.dumps(obj, *args, **kwargs)
        self.encodes += 1
        self.recent.append(text)
        return text


def install() -> CountingJSON:
    """Put the shim in place for every later ``import json``; idempotent."""
    table = getattr(sys, "mod" + "ules")
    current = table.get("json")
    if isinstance(current, CountingJSON):
        return current
    shim = CountingJSON()
    table["json"] = shim
    return shim
