"""``dufflebag-cert new NAME [--dir DIR]``: start an extension from the template."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dufflebag_harness.outside.exit_codes import ExitCode


@click.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Folder to create (default ./NAME); must be absent or empty.")
def new_cmd(name: str, directory: Path | None) -> None:
    """Create extension NAME: manifest, package, route, migration, config, tests, README.

    It passes its own tests and certifies as generated. Exit 0 created,
    2 refused (bad name, non-empty folder; nothing is written).
    """
    from dufflebag_harness.outside.scaffold import ScaffoldError, scaffold

    target = directory if directory is not None else Path(name)
    try:
        written = scaffold(name, target)
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except OSError as exc:
        click.echo(f"error: --dir: {target}: {exc.strerror or exc}", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    root = target.absolute()
    click.echo(f"Created extension {name!r} in {target}:")
    for path in written:
        click.echo(f"  {path.relative_to(root)}")
    shown = os.path.relpath(root) if not directory or not directory.is_absolute() else str(root)
    click.echo("Next:")
    click.echo(f"  cd {shown}")
    click.echo("  python -m pytest tests -q    # its own tests")
    click.echo("  dufflebag-cert certify .     # the full certification")
