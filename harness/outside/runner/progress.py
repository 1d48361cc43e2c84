"""The console of a certification run: one event handler, nothing else depends on it.

Two forms, both on standard error:

* **live** (a terminal): a progress bar, and above it one line per pair that did not
  pass. Each line is printed whole through the live display's console, which prints
  above the bar, so the bar's redraws never erase it;
* **plain** (not a terminal, or ``--plain``): one line per pair as it finishes, written
  and flushed at once (a CI log shows the run as it goes), no ANSI codes.

Lines are never hard-wrapped (a reproduce command must survive copy and paste), and
text that came from the extension (a reason) is flattened to one printable line, so it
can neither forge a line of its own nor move the cursor.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from dufflebag_harness.conformance import CheckResult, Status
from dufflebag_harness.outside.runner.events import (
    CheckFinished,
    CheckStarted,
    Event,
    Notice,
    RunFinished,
    RunStarted,
)
from dufflebag_harness.reports.model import docs_link

__all__ = ["ProgressDisplay", "one_line", "pair_line"]

_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "bold red",
    Status.ERROR: "bold magenta",
    Status.SKIPPED: "yellow",
    Status.FLAKY: "bold yellow",
}
_LEVEL_STYLE = {"certified": "bold green", "provisional": "bold yellow", "failed": "bold red"}
_PROBLEMS = (Status.FAIL, Status.ERROR)
_SPACES = re.compile(r"\s+")
#: Longest reason shown on the console (the report has it whole).
REASON_LIMIT = 500


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` as one printable line: control, format (bidi, zero-width) and other
    invisible characters dropped, runs of white space (newlines too) made one space."""
    value = "".join(" " if ch.isspace() else ch for ch in str(text)
                    if ch.isspace() or unicodedata.category(ch)[0] != "C")
    value = _SPACES.sub(" ", value).strip()
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def pair_line(result: CheckResult, fix: str = "") -> str:
    """The console line of one finished pair: status, ``ID@backend``, title; for a pair
    that failed or errored also its reason, the fix and the docs link."""
    status = result.status.value
    head = f"{status:8} {result.pair:20} {one_line(result.title) or result.check}"
    reason = one_line(result.reason, REASON_LIMIT)
    if result.status in _PROBLEMS:
        parts = [head, reason or "(no reason given)"]
        if fix:
            parts.append(f"fix: {one_line(fix)}")
        parts.append(f"docs: {docs_link(result.check)}")
        return " — ".join(parts)
    if result.status is not Status.PASS and reason:
        return f"{head} — {reason}"
    return head


def _registry_fixes() -> Mapping[str, str]:
    from dufflebag_harness.conformance import load_checks

    return {spec.id: spec.fix for spec in load_checks()}


class ProgressDisplay:
    """Shows the run: a live bar with the problems above it, or plain lines.

    ``plain`` ``None`` chooses: live on a terminal, plain otherwise. ``fixes`` maps a
    check ID to its fix (default: the registry's). The level line is the caller's
    (:meth:`conclude`): it knows what ``verify`` would make of the report.
    """

    def __init__(self, console: Console | None = None, *, plain: bool | None = None,
                 stream: TextIO | None = None,
                 fixes: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
                 ) -> None:
        self.console = console or Console(stderr=True, soft_wrap=True, highlight=False)
        self.plain = (not self.console.is_terminal) if plain is None else plain
        self._stream = stream
        self._fixes_source = fixes if fixes is not None else _registry_fixes
        self._fixes: Mapping[str, str] | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    # -- output ----------------------------------------------------------------------
    def _fix(self, check_id: str) -> str:
        if self._fixes is None:
            source = self._fixes_source
            self._fixes = source() if callable(source) else source
        return self._fixes.get(check_id, "")

    def _write(self, line: str, style: str | None = None, styled: int | None = None) -> None:
        """One whole line: plain and flushed, or above the live bar (never erased), its
        first ``styled`` characters (all without) in ``style``."""
        if self.plain:
            stream = self._stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()
            return
        text = Text(line)
        if style:
            text.stylize(style, 0, styled)
        self.console.print(text, soft_wrap=True, markup=False, highlight=False, emoji=False)

    # -- events ----------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._write(f"Certifying {one_line(event.extension)} {one_line(event.version)} "
                        f"(profile {event.profile}, {len(event.planned)} checks)")
            if not self.plain:
                self._progress = Progress(
                    TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=self.console, transient=True,
                )
                self._progress.start()
                self._task = self._progress.add_task("checks", total=len(event.planned))
        elif isinstance(event, CheckStarted):
            if self._progress is not None and self._task is not None:
                self._progress.update(self._task, description=f"{event.check}@{event.backend}")
        elif isinstance(event, CheckFinished):
            r = event.result
            if self._progress is not None and self._task is not None:
                self._progress.advance(self._task)
            if self.plain or r.status is not Status.PASS:
                fix = self._fix(r.check) if r.status in _PROBLEMS else ""
                self._write(pair_line(r, fix), _STYLE[r.status], len(r.status.value))
        elif isinstance(event, Notice):
            self._write(f"{event.level}: {one_line(event.text)}",
                        "yellow" if event.level == "warning" else "cyan", len(event.level) + 1)
        elif isinstance(event, RunFinished):
            self.stop()

    def conclude(self, text: str, level: str) -> None:
        """The run's last line (the level and what ``verify`` would say), after the bar."""
        self.stop()
        self._write(one_line(text), _LEVEL_STYLE.get(level, "bold"))

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
