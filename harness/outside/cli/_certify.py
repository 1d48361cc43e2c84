"""``dufflebag-cert certify PATH``.

The runner (and with it the checks) is imported when the command runs, not with the
command group: ``sign`` and ``verify`` never load it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import click

from dufflebag_harness.outside.cli._python_env import chosen, python_env_options
from dufflebag_harness.outside.exit_codes import ExitCode, Interrupted, signals_interrupt


def _split_only(value: str | None) -> list[str] | None:
    """``--only`` as the catalog spells it (``lc-01@SQLite`` is ``LC-01@sqlite``), each
    item once: the report records the list, and its schema knows only that spelling."""
    if value is None:
        return None
    out: list[str] = []
    for item in value.split(","):
        check_id, at, backend = item.strip().partition("@")
        canonical = check_id.strip().upper() + (at + backend.strip().lower() if at else "")
        if canonical and canonical not in out:
            out.append(canonical)
    if not out:  # `--only ""` would otherwise quietly run the whole profile
        raise click.BadParameter(f"{value!r} names no check (give IDs like LC-01,RT-01)",
                                 param_hint="'--only'")
    return out


def _out_message(out: Path | None) -> str | None:
    """Why the outputs could not be written at ``out`` (``None``: they can), found before
    any work: the outputs are staged beside the folder, then moved in."""
    target = (out if out is not None else Path("certification") / "x").absolute()
    label = f"--out {out}" if out is not None else f"the default output folder under {Path.cwd()}"
    if out is not None and out.exists() and not out.is_dir():
        return f"{label}: exists and is not a folder"
    if out is not None and out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        return f"{label}: the folder is not writable"
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{label}: {ancestor} is not a folder"
    try:  # the one reliable answer (read-only file systems, ACLs, root): try it
        os.rmdir(tempfile.mkdtemp(prefix=".dufflebag-probe-", dir=ancestor))
    except OSError as exc:
        return f"{label}: cannot create files in {ancestor}: {exc.strerror or exc}"
    return None


def _sarif_root_message(path: Path, sarif_root: Path | None) -> str | None:
    """Why SARIF locations could not be made relative to ``sarif_root``, before any work
    (the outputs writer would say the same, after the whole run)."""
    if sarif_root is None:
        return None
    from dufflebag_harness.reports.outputs import OutputError, sarif_base

    folder = path.parent if path.name == "extension.toml" else path
    if not folder.is_dir():
        return None  # a wheel or sdist: its locations are relative to its own top
    try:
        sarif_base(folder, sarif_root)
    except OutputError as exc:
        return str(exc)
    return None


@click.command("certify")
@click.argument("path", type=click.Path(path_type=Path))
@python_env_options
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder (default ./certification/{name}-{version}/).")
@click.option("--profile", type=click.Choice(["full", "quick"]), default="full", show_default=True)
@click.option("--only", default=None, metavar="ID,...",
              help="Run only these checks (ID or ID@backend), whatever the profile; such a run "
                   "never certifies.")
@click.option("--pg-dsn", envvar="DUFFLEBAG_PG_DSN", default=None,
              help="PostgreSQL server to use (a throw-away database is created in it).")
@click.option("--seed", type=int, default=None,
              help="Seed for randomized checks (reproduce a run).")
@click.option("--shuffle", is_flag=True, help="Run checks in shuffled order (seeded).")
@click.option("--with", "with_", multiple=True, type=click.Path(path_type=Path),
              help="An extension this one depends on (repeatable); loaded beside it.")
@click.option("--unsigned", is_flag=True,
              help="Use no signing key: write an unsigned bundle for `dufflebag-cert sign`.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Checks run at once, each on its own worker [default: the cores, at most "
                   "2]. Timing and load checks always run alone.")
@click.option("--deadline", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS",
              help="Start no check after this long [default: 600 full, 180 quick].")
@click.option("--plain", is_flag=True,
              help="One line per pair as it finishes, no progress bar, no colours (the "
                   "default when the output is not a terminal).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON summary on standard output (level, whether verify would "
                   "accept the report and why not, counts, failed pairs, report files) and "
                   "nothing else there; the progress goes to standard error.")
@click.option("--sarif-root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="Folder the SARIF file's paths are relative to [default: the git "
                   "top-level of the extension, else the extension's folder].")
def certify_cmd(path: Path, out: Path | None, profile: str, only: str | None,
                pg_dsn: str | None, seed: int | None, shuffle: bool,
                with_: tuple[Path, ...], unsigned: bool, jobs: int | None,
                deadline: float | None, plain: bool, as_json: bool,
                sarif_root: Path | None) -> None:
    """Certify the extension at PATH (folder, wheel or sdist).

    Exit 0 certified, 1 failed, 2 bad input or environment, 3 provisional,
    4 internal error; 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (cleaned up, no report).
    """
    from dufflebag_harness.outside.runner import (
        BadInput,
        CertifyOptions,
        EventBus,
        InternalError,
        certify,
    )
    from dufflebag_harness.outside.runner.progress import ProgressDisplay

    def _refuse(message: str, code: int) -> NoReturn:
        display.stop()
        click.echo(message, err=True)
        if as_json:  # a machine reading stdout learns the run ended, and why
            click.echo(json.dumps({"level": None, "exit_code": int(code), "error": message}))
        sys.exit(code)

    # plain lines when asked, or when stdout goes to a file or a pipe (a log): stdout is
    # the machine's with --json, so then only standard error decides
    piped = not as_json and not sys.stdout.isatty()
    display = ProgressDisplay(plain=True if plain or piped else None)
    problem = _out_message(out) or _sarif_root_message(path, sarif_root)
    if problem is not None:
        _refuse(f"error: {problem}", ExitCode.BAD_INPUT)
    opts = CertifyOptions(path=path, out=out, profile=profile, only=_split_only(only),
                          pg_dsn=pg_dsn, seed=seed, shuffle=shuffle, with_=with_,
                          unsigned=unsigned, jobs=jobs, deadline_s=deadline,
                          sarif_root=sarif_root)
    try:
        with signals_interrupt():
            outcome = certify(dataclasses.replace(opts, python_env=chosen()),
                              EventBus([display]))
    except BadInput as exc:
        _refuse(f"error: {exc}", ExitCode.BAD_INPUT)
    except InternalError as exc:
        _refuse(f"internal error: {exc}", ExitCode.INTERNAL)
    except Interrupted as exc:
        _refuse(f"interrupted by {exc.signal_name}: no report written", exc.exit_code)
    except KeyboardInterrupt:
        _refuse("interrupted: no report written", ExitCode.INTERRUPTED)
    _conclude(display, outcome, path, as_json)
    sys.exit(outcome.exit_code)


def _conclude(display: Any, outcome: Any, path: Path, as_json: bool) -> None:
    """Where the report is, then the last line: the level and what verify would say."""
    from dufflebag_harness.conformance import load_checks
    from dufflebag_harness.outside.cli._summary import summarize

    fixes = {spec.id: spec.fix for spec in load_checks()}
    summary = summarize(outcome.report, exit_code=outcome.exit_code, out_dir=outcome.out_dir,
                        files=outcome.files, artifact=path,
                        fix_of=lambda check: fixes.get(check, ""))
    display.stop()
    if as_json:
        click.echo(summary.as_json())
    elif outcome.signed:
        click.echo(f"Report: {outcome.out_dir / 'report.html'}")
    else:
        click.echo(f"Unsigned bundle: {outcome.out_dir} (sign it with `dufflebag-cert sign "
                   f"{outcome.out_dir} --artifact {path}`)")
    sys.stdout.flush()
    display.conclude(summary.last_line(), summary.level)
