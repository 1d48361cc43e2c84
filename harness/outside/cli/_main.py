"""The command group and the error policy: one clear line, the right exit code."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from dufflebag_harness import __version__
from dufflebag_harness.outside.cli._certify import certify_cmd
from dufflebag_harness.outside.cli._checks import checks_cmd
from dufflebag_harness.outside.cli._keys import keys_group
from dufflebag_harness.outside.cli._new import new_cmd
from dufflebag_harness.outside.cli._sign import sign_cmd
from dufflebag_harness.outside.cli._verify import verify_cmd
from dufflebag_harness.outside.exit_codes import ExitCode


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dufflebag-cert")
def cli() -> None:
    """Test and certify DuffleBagBase extensions; sign and verify reports."""


cli.add_command(certify_cmd)
cli.add_command(sign_cmd)
cli.add_command(verify_cmd)
cli.add_command(checks_cmd)
cli.add_command(keys_group)
cli.add_command(new_cmd)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: no traceback reaches the user unless DUFFLEBAG_DEBUG=1."""
    try:
        return cli.main(args=argv, prog_name="dufflebag-cert", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("DUFFLEBAG_DEBUG") == "1":
            traceback.print_exc()
        click.echo(f"internal error: {type(exc).__name__}: {exc} "
                   "(set DUFFLEBAG_DEBUG=1 for the traceback)", err=True)
        sys.exit(ExitCode.INTERNAL)
