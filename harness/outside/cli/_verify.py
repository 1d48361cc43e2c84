"""``dufflebag-cert verify REPORT``: what the marketplace runs. Never runs extension code."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("verify")
@click.argument("report", type=click.Path(path_type=Path))
@click.option("--keyring", required=True, type=click.Path(path_type=Path),
              help="Armored public key(s) of the signers you trust.")
@click.option("--artifact", type=click.Path(path_type=Path), default=None,
              help="The wheel, sdist or folder the report must be about.")
@click.option("--signature", type=click.Path(path_type=Path), default=None,
              help="Detached signature (default REPORT.asc).")
@click.option("--require-level", type=click.Choice(["certified", "provisional"]),
              default="certified", show_default=True)
@click.option("--catalog", type=click.Path(path_type=Path), default=None,
              help="A catalog.toml whose version to accept besides this harness's own.")
def verify_cmd(report: Path, keyring: Path, artifact: Path | None, signature: Path | None,
               require_level: str, catalog: Path | None) -> None:
    """Verify a signed certification report.

    Exit 0 all hold, 10 bad signature (or an unsigned bundle), 11 signer not in
    keyring, 12 schema invalid (or an unknown catalog version), 13 artifact mismatch,
    14 expired, 15 level below required, 2 usage (a missing file, the signature
    beside the report too).
    """
    from dufflebag_harness.reports import verify
    from dufflebag_harness.reports.verify import VerifyExit

    for label, path in (("REPORT", report), ("--keyring", keyring), ("--artifact", artifact),
                        ("--signature", signature), ("--catalog", catalog)):
        if path is not None and not path.exists():
            click.echo(f"error: {label}: {path}: no such file or directory", err=True)
            sys.exit(VerifyExit.USAGE)
    outcome = verify(report, keyring, artifact=artifact, signature=signature,
                     require_level=require_level, catalog=catalog)
    stream_err = not outcome.ok
    click.echo(("ok: " if not stream_err else "rejected: ") + outcome.sentence, err=stream_err)
    sys.exit(outcome.code)
