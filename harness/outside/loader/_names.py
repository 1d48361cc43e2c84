"""Top-level names an extension's packages must not take.

The worker puts the extension's root on ``sys.path``; a package named like one
of ours, like pytest's, like a standard-library module or like a library the
host itself runs on would shadow it (or be shadowed by it). Shadowing
``starlette`` would let an extension rewrite the very host that judges it, so
the loader refuses such names statically, before any code runs.
"""

from __future__ import annotations

import keyword
import sys

__all__ = ["RESERVED_TOP_LEVEL", "collision", "is_module_path"]

_OURS = frozenset({"dufflebag_harness"})
_TEST_RUNNER = frozenset({"_pytest", "pytest", "pluggy"})
#: Import names of the libraries the host and worker run on (direct and main transitive).
_RUNTIME = frozenset(
    {
        "anyio", "attrs", "bandit", "certifi", "click", "coverage", "gnupg", "greenlet", "h11",
        "httpcore", "httpx", "hypothesis", "idna", "jinja2", "jsonschema",
        "jsonschema_specifications", "markupsafe", "packaging", "prometheus_client", "psutil",
        "psycopg", "psycopg_binary", "referencing", "rich", "rpds", "sniffio", "sqlalchemy",
        "starlette", "typing_extensions", "uvicorn",
    }
)  # fmt: skip
_STDLIB = frozenset(sys.stdlib_module_names)

RESERVED_TOP_LEVEL: frozenset[str] = _OURS | _TEST_RUNNER | _RUNTIME | _STDLIB
"""Every top-level name an extension package may not use."""


def collision(name: str) -> str | None:
    """Why ``name`` may not be an extension's top-level package, or None if it may."""
    if name in _OURS:
        return f"{name!r} is a package of the harness"
    if name in _TEST_RUNNER:
        return f"{name!r} is a package of the test runner"
    if name in _STDLIB:
        return f"{name!r} is a standard-library module"
    if name in _RUNTIME:
        return f"{name!r} is a library the host runs on"
    return None


def is_module_path(text: str) -> bool:
    """True for a dotted module path such as ``pkg.sub.module`` (no keywords)."""
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in text.split("."))
