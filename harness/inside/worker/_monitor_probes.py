"""Probes over what an extension did at runtime: capability use and log output.

``monitor.begin`` / ``monitor.report`` read the capability monitor
(:mod:`dufflebag_harness.inside.worker._monitor`) for one extension: what it used at import time
and since the check opened its window. ``logs.begin`` / ``logs.collect``
capture everything the extension logs or prints meanwhile, so the parent can
search it for secrets it planted. The probes only report; the parent judges.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dufflebag_harness.inside.worker import _monitor

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["MAX_LOG_CHARS", "PROBES", "extension_packages", "extension_root"]

#: Captured log text returned to the parent (the full text is searched here too).
MAX_LOG_CHARS = 400_000
_RECORD_CHARS = 4000


def extension_packages(server: WorkerServer, name: str) -> list[str]:
    """Top-level package(s) the extension's entry class lives in."""
    cls = server.loaded(name).cls
    return [str(cls.__module__).partition(".")[0]]


def extension_root(server: WorkerServer, name: str) -> str:
    """The folder holding the extension's top-level package (what ``load`` put on sys.path)."""
    top = sys.modules[extension_packages(server, name)[0]]
    file = getattr(top, "__file__", None)
    if not isinstance(file, str):
        paths = list(getattr(top, "__path__", []))
        if not paths:
            raise RuntimeError(f"cannot locate the package of extension {name!r}")
        return os.path.realpath(os.path.dirname(str(paths[0])))
    folder = os.path.dirname(file)
    if os.path.basename(file).startswith("__init__."):
        folder = os.path.dirname(folder)
    return os.path.realpath(folder)


def probe_monitor_begin(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Open a fresh window: the report then holds import-time events and this check's."""
    monitor = _monitor.active()
    if monitor is None:
        return {"installed": False, "window": 0}
    return {"installed": True, "window": monitor.begin_window()}


def probe_monitor_report(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """What ``args["extension"]`` used: ``load`` (import time) and ``window`` records."""
    name = str(args["extension"])
    monitor = _monitor.active()
    if monitor is None:
        return {"installed": False}
    root = extension_root(server, name)
    usage = monitor.usage(root)
    return {
        "installed": True,
        "extension": name,
        "window": monitor.window,
        "root": root,
        "attributed_roots": [r.rstrip(os.sep) for r in monitor.roots],
        "load": usage["load"],
        "window_events": usage["window"],
        "dropped": usage["dropped"],
        "unattributed": monitor.unattributed(),
        "hook_errors": monitor.errors,
    }


class _Capture(logging.Handler):
    """Keeps the text of every record the extension emits (message, fields, traceback)."""

    def __init__(self, name: str, packages: list[str], root: str) -> None:
        super().__init__(logging.NOTSET)
        self.loggers = (f"dufflebag.ext.{name}", *packages)
        self.extension = name
        self.root = root.rstrip(os.sep) + os.sep
        self.texts: list[str] = []
        self.seen: set[int] = set()
        self._formatter = logging.Formatter()

    def _ours(self, record: logging.LogRecord) -> bool:
        if getattr(record, "extension", None) == self.extension:
            return True
        if any(record.name == n or record.name.startswith(n + ".") for n in self.loggers):
            return True
        return str(record.pathname).startswith(self.root)

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self.seen or not self._ours(record):
            return
        self.seen.add(id(record))
        try:
            parts = [f"{record.levelname} {record.name} {record.getMessage()}"]
        except Exception as exc:  # a bad format string is the extension's problem, not ours
            parts = [f"{record.levelname} {record.name} {record.msg!r} {record.args!r} ({exc})"]
        for key in ("fields", "request_path"):
            if key in record.__dict__:
                parts.append(f"{key}={record.__dict__[key]!r}")
        if record.exc_info:
            parts.append(self._formatter.formatException(record.exc_info))
        if record.stack_info:
            parts.append(str(record.stack_info))
        self.texts.append("\n".join(parts)[:_RECORD_CHARS])


class _Tee(io.TextIOBase):
    """Writes through to the real stream and keeps a copy (what the extension prints)."""

    def __init__(self, inner: Any, sink: list[str]) -> None:
        self.inner = inner
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink.append(str(text)[:_RECORD_CHARS])
        return int(self.inner.write(text))

    def flush(self) -> None:
        self.inner.flush()


class _Session:
    def __init__(self, capture: _Capture, levels: dict[str, int]) -> None:
        self.capture = capture
        self.levels = levels
        self.printed: list[str] = []
        self.streams = (sys.stdout, sys.stderr)


_SESSION: dict[str, _Session] = {}
_LOCK = threading.Lock()


def _end(name: str) -> _Session | None:
    with _LOCK:
        session = _SESSION.pop(name, None)
    if session is None:
        return None
    logging.getLogger().removeHandler(session.capture)
    for logger_name, level in session.levels.items():
        logger = logging.getLogger(logger_name)
        logger.removeHandler(session.capture)
        logger.setLevel(level)
    sys.stdout, sys.stderr = session.streams
    return session


def probe_logs_begin(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Capture the extension's log records (down to DEBUG) and prints until ``logs.collect``."""
    name = str(args["extension"])
    _end(name)
    packages = extension_packages(server, name)
    capture = _Capture(name, packages, extension_root(server, name))
    levels: dict[str, int] = {}
    for logger_name in capture.loggers:
        logger = logging.getLogger(logger_name)
        levels[logger_name] = logger.level
        logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            logger.addHandler(capture)
    session = _Session(capture, levels)
    logging.getLogger().addHandler(capture)
    sys.stdout = _Tee(session.streams[0], session.printed)
    sys.stderr = _Tee(session.streams[1], session.printed)
    with _LOCK:
        _SESSION[name] = session
    return {"capturing": True, "loggers": list(capture.loggers)}


def probe_logs_collect(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Stop capturing; return the text (capped) and which ``needles`` occur in all of it."""
    name = str(args["extension"])
    session = _end(name)
    if session is None:
        return {"capturing": False, "records": [], "printed": "", "found": []}
    records = session.capture.texts
    printed = "".join(session.printed)
    needles = [str(n) for n in args.get("needles", []) if str(n)]
    found = []
    for i, text in enumerate([*records, printed]):
        for needle in needles:
            if needle in text:
                found.append({"needle_index": needles.index(needle),
                              "source": "print" if i == len(records) else f"record {i}"})
    budget, kept = MAX_LOG_CHARS, []
    for text in records:
        if budget <= 0:
            break
        kept.append(text[:budget])
        budget -= len(kept[-1])
    return {"capturing": True, "records": kept, "record_count": len(records),
            "printed": printed[:max(budget, 0)], "found": found,
            "truncated": budget <= 0}


Probe = Callable[["WorkerServer", dict[str, Any]], dict[str, Any]]

PROBES: dict[str, Probe] = {
    "monitor.begin": probe_monitor_begin,
    "monitor.report": probe_monitor_report,
    "logs.begin": probe_logs_begin,
    "logs.collect": probe_logs_collect,
}
