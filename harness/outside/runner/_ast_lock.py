"""One ``ast.parse`` at a time in the certifying process, while checks run on lanes.

CPython 3.11 keeps the AST constructor's recursion depth in per-interpreter state, not
per thread: two threads turning source into AST objects at once can corrupt it and one
of them fails with ``SystemError: AST constructor recursion depth mismatch``
(python/cpython#106905, fixed in 3.12). Checks parse source on several lanes: the static
checks read the extension's files, Hypothesis and schemathesis parse their own lambdas
and constants. Every one of them calls ``ast.parse`` through the module attribute, so
the lanes are made safe by serialising that one function for the length of the run.
This is the harness's own process (no extension code runs in it); the original
function is put back when the run ends.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["serialized_ast_parse"]

_LOCK = threading.RLock()
_ORIGINAL: Callable[..., Any] = ast.parse


@functools.wraps(_ORIGINAL)
def _parse(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _ORIGINAL(*args, **kwargs)


@contextlib.contextmanager
def serialized_ast_parse() -> Iterator[None]:
    """``ast.parse`` behind a lock inside the block (nothing to do from 3.12 on)."""
    if sys.version_info >= (3, 12) or ast.parse is _parse:
        yield
        return
    ast.parse = _parse
    try:
        yield
    finally:
        ast.parse = _ORIGINAL
