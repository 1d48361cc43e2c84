"""``dufflebag-cert certify PATH``.

The runner (and with it the checks) is imported when the command runs, not with the
command group: ``sign`` and ``verify`` never load it.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from dufflebag_harness.outside.cli._python_env import chosen, python_env_options
from dufflebag_harness.outside.exit_codes import ExitCode, Interrupted, signals_interrupt


def _split_only(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


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
def certify_cmd(path: Path, out: Path | None, profile: str, only: str | None,
                pg_dsn: str | None, seed: int | None, shuffle: bool,
                with_: tuple[Path, ...], unsigned: bool, jobs: int | None,
                deadline: float | None) -> None:
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

    display = ProgressDisplay()
    opts = CertifyOptions(path=path, out=out, profile=profile, only=_split_only(only),
                          pg_dsn=pg_dsn, seed=seed, shuffle=shuffle, with_=with_,
                          unsigned=unsigned, jobs=jobs, deadline_s=deadline)
    try:
        with signals_interrupt():
            outcome = certify(dataclasses.replace(opts, python_env=chosen()),
                              EventBus([display]))
    except BadInput as exc:
        display.stop()
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except InternalError as exc:
        display.stop()
        click.echo(f"internal error: {exc}", err=True)
        sys.exit(ExitCode.INTERNAL)
    except Interrupted as exc:
        display.stop()
        click.echo(f"interrupted by {exc.signal_name}: no report written", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        display.stop()
        click.echo("interrupted: no report written", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    if outcome.signed:
        click.echo(f"Report: {outcome.out_dir / 'report.html'}")
    else:
        click.echo(f"Unsigned bundle: {outcome.out_dir} (sign it with `dufflebag-cert sign "
                   f"{outcome.out_dir} --artifact {path}`)")
    sys.exit(outcome.exit_code)
