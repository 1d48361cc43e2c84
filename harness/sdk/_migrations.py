"""Schema migrations an extension ships for its own ``ext_{name}`` schema."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One versioned migration: SQL applied inside the extension's schema.

    ``up`` and ``down`` are SQL scripts (statements separated by ``;``) written
    without schema qualification; the host runs them with the extension's
    schema as the default, each migration in one transaction.
    """

    version: int
    description: str
    up: str
    down: str = ""
