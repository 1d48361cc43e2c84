"""Exit codes of ``dufflebag-cert``: a contract, CI gates rely on them.

``certify`` uses all of them; ``sign``, ``new`` and ``keys`` use 0 and 2; any command
ends with 4 on an unexpected error. ``verify`` has codes of its own, which
belong to the reports: :class:`dufflebag_harness.reports.verify.VerifyExit`.

A run ended by a signal ends with 128 + the signal's number, as a shell reports
it: SIGINT (Ctrl-C) 130, SIGTERM 143, SIGHUP 129. :func:`signals_interrupt` makes
SIGTERM and SIGHUP end a command exactly as Ctrl-C does: :class:`Interrupted` (a
``KeyboardInterrupt``) unwinds the run, so every ``finally`` and ``except
BaseException`` that cleans up after Ctrl-C cleans up after them too.
"""

from __future__ import annotations

import enum
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = [
    "INTERRUPTING_SIGNALS",
    "LEVEL_EXIT",
    "ExitCode",
    "Interrupted",
    "interrupts_held",
    "signals_interrupt",
]


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

    HANGUP = 128 + signal.SIGHUP
    """Ended by SIGHUP (the terminal went away); cleaned up, no report written."""

    INTERRUPTED = 128 + signal.SIGINT
    """Interrupted (Ctrl-C); cleaned up, no report written."""

    TERMINATED = 128 + signal.SIGTERM
    """Ended by SIGTERM (a CI timeout, ``kill``); cleaned up, no report written."""

    @classmethod
    def for_signal(cls, signum: int) -> ExitCode:
        """The exit code of a command a signal ended."""
        return cls(128 + signum)


#: The exit code of ``certify`` for each report level.
LEVEL_EXIT: dict[str, ExitCode] = {
    "certified": ExitCode.CERTIFIED,
    "failed": ExitCode.FAILED,
    "provisional": ExitCode.PROVISIONAL,
}

#: Signals that end a command like Ctrl-C while :func:`signals_interrupt` is active.
INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A command ended by a signal; unwinds like Ctrl-C (it *is* a KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        self.signal_name = signal.Signals(self.signum).name
        super().__init__(self.signal_name)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.for_signal(self.signum)


class _State:
    """What the active handler knows: is a signal already being acted on, or held back."""

    def __init__(self) -> None:
        self.active = False
        self.held = 0
        self.pending: int | None = None
        self.raised = False

    def reset(self) -> None:
        self.active, self.held, self.pending, self.raised = False, 0, None, False


_STATE = _State()


def _handler(signum: int, frame: FrameType | None) -> None:
    state = _STATE
    if state.raised or state.pending is not None:
        return  # already ending: let the cleanup finish (SIGKILL still ends it at once)
    if state.held:
        state.pending = signum
        return
    state.raised = True
    raise Interrupted(signum)


@contextmanager
def signals_interrupt(signals: tuple[int, ...] = INTERRUPTING_SIGNALS) -> Iterator[None]:
    """While the block runs, each of ``signals`` raises :class:`Interrupted` in the main
    thread, once; later signals are ignored so the cleanup the first one started runs to
    its end. Previous handlers are restored afterwards. A no-op outside the main thread.
    """
    if threading.current_thread() is not threading.main_thread() or _STATE.active:
        yield
        return
    _STATE.reset()  # a fresh state for this command
    _STATE.active = True
    previous = {s: signal.signal(s, _handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        _STATE.active = False


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold a signal back while the block runs, then raise it when the block ends.

    For code that makes something it must clean up but cannot hand over until it is
    whole (a worker: processes and temporary folders, made before it answers): an
    interruption in the middle would leave them behind; at the end of the block, the
    caller's ``except BaseException`` / ``finally`` sees it with the thing in hand.
    """
    state = _STATE
    state.held += 1
    try:
        yield
    finally:
        state.held -= 1
        if not state.held and state.pending is not None and state.active:
            signum, state.pending = state.pending, None
            state.raised = True
            raise Interrupted(signum)
