"""A rich progress display: one event handler, nothing else depends on it."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from dufflebag_harness.conformance import Status
from dufflebag_harness.outside.runner.events import (
    CheckFinished,
    CheckStarted,
    Event,
    Notice,
    RunFinished,
    RunStarted,
)

_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "bold red",
    Status.ERROR: "bold magenta",
    Status.SKIPPED: "yellow",
    Status.FLAKY: "bold yellow",
}
_LEVEL_STYLE = {"certified": "bold green", "provisional": "bold yellow", "failed": "bold red"}


class ProgressDisplay:
    """Shows a bar while checks run and one line per non-passing result."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.console.print(
                f"Certifying [bold]{event.extension}[/] {event.version} "
                f"(profile {event.profile}, {len(event.planned)} checks)", markup=True,
                highlight=False,
            )
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=self.console, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("checks", total=len(event.planned))
        elif isinstance(event, CheckStarted) and self._progress is not None:
            assert self._task is not None
            self._progress.update(self._task, description=f"{event.check}@{event.backend}")
        elif isinstance(event, CheckFinished):
            r = event.result
            if self._progress is not None and self._task is not None:
                self._progress.advance(self._task)
            if r.status is not Status.PASS:
                style = _STYLE[r.status]
                self.console.print(
                    f"  [{style}]{r.status.value:8}[/] {r.pair:22} ", end="", markup=True,
                    highlight=False,
                )
                self.console.print(r.reason[:300], markup=False, highlight=False)
        elif isinstance(event, Notice):
            style = "yellow" if event.level == "warning" else "cyan"
            self.console.print(f"[{style}]{event.level}:[/] ", end="", markup=True)
            self.console.print(event.text, markup=False, highlight=False)
        elif isinstance(event, RunFinished):
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
            s = event.report.get("summary", {})
            unsigned = "  [yellow]unsigned bundle[/]" if event.report.get("signer") is None else ""
            self.console.print(
                f"Level: [{_LEVEL_STYLE.get(event.level, 'bold')}]{event.level}[/]  "
                f"({s.get('pass', 0)} passed, {s.get('fail', 0)} failed, "
                f"{s.get('error', 0)} errors, {s.get('skipped', 0)} skipped){unsigned}",
                markup=True, highlight=False,
            )

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
