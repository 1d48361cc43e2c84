"""Exit codes of ``dufflebag-cert``: a contract, CI gates rely on them.

``certify`` uses all of them; ``new`` and ``keys`` use 0 and 2; any command
ends with 4 on an unexpected error. ``verify`` has codes of its own, which
belong to the reports: :class:`dufflebag_harness.reports.verify.VerifyExit`.
"""

from __future__ import annotations

import enum

__all__ = ["LEVEL_EXIT", "ExitCode"]


class ExitCode(enum.IntEnum):
    """How a ``dufflebag-cert`` command ended."""

    CERTIFIED = 0
    """Certified (and, for the other commands, done)."""

    FAILED = 1
    """A required pair failed or errored: the report says ``failed``."""

    BAD_INPUT = 2
    """Bad input or environment (manifest, option, missing PostgreSQL or gpg); no report."""

    PROVISIONAL = 3
    """Nothing required failed, but not everything required passed (or ``--only``, quick)."""

    INTERNAL = 4
    """The harness itself is broken; never certified."""

    INTERRUPTED = 130
    """Interrupted (Ctrl-C); no report written."""


#: The exit code of ``certify`` for each report level.
LEVEL_EXIT: dict[str, ExitCode] = {
    "certified": ExitCode.CERTIFIED,
    "failed": ExitCode.FAILED,
    "provisional": ExitCode.PROVISIONAL,
}
