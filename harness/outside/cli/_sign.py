"""``dufflebag-cert sign BUNDLE_DIR --artifact PATH``: sign what ``certify --unsigned`` wrote.

The job that holds the key runs this, never extension code: it reads the bundle
and the artifact as bytes (:mod:`dufflebag_harness.reports.bundle`), and imports
neither the runner nor the checks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dufflebag_harness.outside.exit_codes import ExitCode, Interrupted, signals_interrupt


def _refuse(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(ExitCode.BAD_INPUT)


@click.command("sign")
@click.argument("bundle_dir", type=click.Path(path_type=Path))
@click.option("--artifact", required=True, type=click.Path(path_type=Path),
              help="The wheel, sdist or folder that was certified (its digest is recomputed).")
@click.option("--sarif-root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="Folder the SARIF file's paths are relative to, as with certify [default: "
                   "the git top-level of the artifact folder, else the folder].")
def sign_cmd(bundle_dir: Path, artifact: Path, sarif_root: Path | None) -> None:
    """Sign the unsigned bundle in BUNDLE_DIR (from `certify --unsigned`).

    Checks the bundle (schema, level and summary recomputed, catalog known, canonical
    bytes) and that ARTIFACT is what it certifies, then signs report.json and
    re-renders the other files. Exit 0 signed, 2 refused (nothing written),
    4 internal error.
    """
    from dufflebag_harness.reports import OutputError, Signer, SigningError
    from dufflebag_harness.reports.bundle import BundleRefused, sign_bundle

    try:
        with signals_interrupt():
            signed = sign_bundle(bundle_dir, artifact, Signer(), sarif_root=sarif_root)
    except BundleRefused as exc:
        _refuse(str(exc))
        return
    except SigningError as exc:
        _refuse(f"signing key: {exc}")
        return
    except OutputError as exc:
        _refuse(str(exc))
        return
    except Interrupted as exc:
        click.echo(f"interrupted by {exc.signal_name}: nothing signed", err=True)
        sys.exit(exc.exit_code)
    signer = signed.report["signer"]
    if signer["development_key"]:
        click.echo("warning: signed with a local development key: the marketplace will not "
                   "trust this report (see `dufflebag-cert keys init`)", err=True)
    extension = signed.report["extension"]
    click.echo(f"Signed: {bundle_dir / 'report.json'} ({extension['name']} "
               f"{extension['version']}, {signed.report['level']}, "
               f"signed by {signer['fingerprint']})")
