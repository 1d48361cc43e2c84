"""``certify``'s options for the extension's Python dependencies.

A decorator adds them to the command and keeps what was chosen in the click context
(:func:`chosen`), as a :class:`~dufflebag_harness.outside.environments.PrepareOptions`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

_KEY = "dufflebag.python_env"


def python_env_options(func: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(func)
    def wrapper(*args: Any, find_links: tuple[Path, ...], no_index: bool,
                licence_policy: Path | None, vuln_db: Path | None,
                fail_on_severity: str | None, **kwargs: Any) -> None:
        from dufflebag_harness.outside.environments import PrepareOptions

        click.get_current_context().meta[_KEY] = PrepareOptions(
            find_links=find_links, no_index=no_index, licence_policy=licence_policy,
            vuln_db=vuln_db, fail_on_severity=fail_on_severity)
        func(*args, **kwargs)

    options = [
        click.option("--find-links", "find_links", multiple=True, metavar="DIR",
                     type=click.Path(path_type=Path),
                     help="A folder of wheels for the extension's declared Python "
                          "dependencies (repeatable)."),
        click.option("--no-index", is_flag=True,
                     help="Install those dependencies from --find-links only (offline)."),
        click.option("--licence-policy", "licence_policy", type=click.Path(path_type=Path),
                     default=None, metavar="FILE",
                     help="TOML allow/deny lists of SPDX licence ids the dependencies' "
                          "licences are judged by (DP-02, advisory)."),
        click.option("--vuln-db", "vuln_db", type=click.Path(path_type=Path), default=None,
                     metavar="DIR",
                     help="An OSV export (a folder of OSV JSON records) to scan the "
                          "dependencies against offline [default: pip-audit, online]."),
        click.option("--fail-on-severity", "fail_on_severity",
                     type=click.Choice(["low", "medium", "high", "critical"]), default=None,
                     help="Known vulnerabilities at or above this severity fail the "
                          "required DP-04 [default: none required; DP-03 lists them]."),
    ]
    decorated: Callable[..., None] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def chosen() -> Any:
    """The :class:`PrepareOptions` of the running command (defaults outside one)."""
    from dufflebag_harness.outside.environments import PrepareOptions

    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_KEY, PrepareOptions()) if ctx is not None else PrepareOptions()
