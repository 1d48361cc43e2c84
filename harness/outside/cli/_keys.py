"""``dufflebag-cert keys init|export|list``: the signing keys in the harness's GnuPG home."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import NoReturn

import click

from dufflebag_harness.outside.exit_codes import ExitCode


def _fail(exc: Exception, what: str | None = None) -> NoReturn:
    """One line, exit 2: a file the system refused is named with the system's reason."""
    if isinstance(exc, OSError) and exc.strerror:
        where = what or (str(exc.filename) if exc.filename is not None else None)
        message = f"{where}: {exc.strerror}" if where else exc.strerror
    else:
        message = f"{what}: {exc}" if what else str(exc)
    click.echo(f"error: {message}", err=True)
    sys.exit(ExitCode.BAD_INPUT)


@click.group("keys")
def keys_group() -> None:
    """Manage signing keys (home: $DUFFLEBAG_GNUPGHOME or the user's data dir)."""


@keys_group.command("init")
@click.option("--name", default="DuffleBag certification", show_default=True)
@click.option("--email", default="certification@dufflebag.invalid", show_default=True)
@click.option("--expire", default="2y", show_default=True,
              help="Lifetime: 2y, 18m, 90d or a date YYYY-MM-DD (keys must expire).")
def keys_init(name: str, email: str, expire: str) -> None:
    """Create an ed25519 signing key and print its fingerprint."""
    from dufflebag_harness.reports.keys import init_key
    from dufflebag_harness.reports.signing import SigningError

    try:
        fingerprint = init_key(name=name, email=email, expire=expire)
    except (SigningError, OSError, ValueError) as exc:
        _fail(exc)
    click.echo(fingerprint)
    click.echo("Use it with DUFFLEBAG_SIGNING_KEY=" + fingerprint
               + "; give `dufflebag-cert keys export` output to verifiers.", err=True)


@keys_group.command("export")
@click.argument("fingerprints", nargs=-1)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def keys_export(fingerprints: tuple[str, ...], out: Path | None) -> None:
    """Print the armored public key(s): the given fingerprints, or all."""
    from dufflebag_harness.reports.keys import export_keys
    from dufflebag_harness.reports.signing import SigningError

    try:
        armour = export_keys(list(fingerprints) or None)
    except (SigningError, OSError, ValueError) as exc:
        _fail(exc)
    if out is None:
        click.echo(armour, nl=False)
        return
    try:
        out.write_text(armour, "ascii")
    except OSError as exc:
        _fail(exc, f"--out {out}")


@keys_group.command("list")
def keys_list() -> None:
    """List signing keys (fingerprint, expiry, development or not)."""
    from dufflebag_harness.reports.keys import list_keys
    from dufflebag_harness.reports.signing import SigningError

    try:
        keys = list_keys()
    except (SigningError, OSError, ValueError) as exc:
        _fail(exc)
    if not keys:
        click.echo("no signing keys (run `dufflebag-cert keys init`)")
    for k in keys:
        expires = (dt.datetime.fromtimestamp(k.expires, dt.UTC).date().isoformat()
                   if k.expires else "never")
        tags = [t for t, on in (("development", k.development), ("unusable", not k.usable)) if on]
        label = f"  [{', '.join(tags)}]" if tags else ""
        click.echo(f"{k.fingerprint}  expires {expires}  {'; '.join(k.uids)}{label}")
