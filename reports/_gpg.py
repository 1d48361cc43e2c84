"""GnuPG plumbing shared by signing, key management and verification.

python-gnupg never raises on failure and leaves ``gpg-agent`` running (see the
library findings), so every use goes through :func:`gpg_session`, which checks
that ``gpg`` exists and always kills the home's agent on the way out. Agent
sockets live inside GNUPGHOME on machines without ``/run/user``; their paths fail
past ~107 bytes, hence the length limit on homes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gnupg

__all__ = [
    "HOME_ENV",
    "MAX_HOME_CHARS",
    "PASSPHRASE_ENV",
    "GnupgHomeTooLong",
    "GpgUnavailable",
    "SigningError",
    "default_home",
    "gpg_session",
    "kill_agent",
    "last_lines",
    "prepare_home",
    "read_passphrase",
]

HOME_ENV = "DUFFLEBAG_GNUPGHOME"
PASSPHRASE_ENV = "DUFFLEBAG_SIGNING_PASSPHRASE"
#: Longest GNUPGHOME accepted: leaves room for ``/S.gpg-agent.browser`` under 107 bytes.
MAX_HOME_CHARS = 80


class SigningError(RuntimeError):
    """Signing or key management failed; the message says what and how to fix it."""


class GpgUnavailable(SigningError):
    """No usable ``gpg`` binary: signed reports cannot be made or verified."""


class GnupgHomeTooLong(SigningError):
    """The GNUPGHOME path is too long for gpg-agent's unix sockets."""


def default_home() -> Path:
    """``$DUFFLEBAG_GNUPGHOME``, else ``dufflebag/gnupg`` under the user's data dir."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "dufflebag" / "gnupg"


def prepare_home(home: Path) -> Path:
    """Create ``home`` (mode 0700) after checking its length; return it absolute."""
    home = home.expanduser().absolute()
    if len(os.fsencode(home)) > MAX_HOME_CHARS:
        raise GnupgHomeTooLong(
            f"GnuPG home {str(home)!r} is {len(os.fsencode(home))} bytes long; gpg-agent "
            f"cannot create its sockets past about {MAX_HOME_CHARS}. Set {HOME_ENV} to a "
            f"short path such as /tmp/dbg or ~/.dbg"
        )
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if home.stat().st_mode & 0o077:
            home.chmod(0o700)
    except OSError as exc:
        raise SigningError(f"cannot prepare GnuPG home {str(home)!r}: {exc}") from exc
    return home


def kill_agent(home: Path) -> None:
    """Stop every GnuPG daemon of ``home``; harmless when none runs."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf is None:
        return
    subprocess.run(
        [gpgconf, "--homedir", str(home), "--kill", "all"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )


@contextmanager
def gpg_session(home: Path, gpgbinary: str = "gpg") -> Iterator[gnupg.GPG]:
    """A ``gnupg.GPG`` on ``home``; the home's agent is killed when the block ends."""
    if shutil.which(gpgbinary) is None:
        raise GpgUnavailable(
            f"GnuPG binary {gpgbinary!r} not found: install gnupg (e.g. apt-get install gnupg) "
            "to sign or verify reports"
        )
    try:
        gpg = gnupg.GPG(gnupghome=str(home), gpgbinary=gpgbinary)
    except (OSError, ValueError) as exc:
        raise GpgUnavailable(f"cannot run GnuPG binary {gpgbinary!r}: {exc}") from exc
    gpg.encoding = "utf-8"
    try:
        yield gpg
    finally:
        kill_agent(home)


def read_passphrase(explicit: str | None) -> str | None:
    """``explicit`` if given (``""`` means none), else ``$DUFFLEBAG_SIGNING_PASSPHRASE``."""
    value = explicit if explicit is not None else os.environ.get(PASSPHRASE_ENV)
    if value is not None and any(c in value for c in "\r\n\0"):
        raise SigningError(f"{PASSPHRASE_ENV}: a passphrase cannot contain newlines or NUL")
    return value or None


def last_lines(stderr: str | None, count: int = 3) -> str:
    """The last human-readable lines of gpg's stderr, for error messages."""
    lines = [ln for ln in (stderr or "").splitlines() if not ln.startswith("[GNUPG:]")]
    return " | ".join(lines[-count:])
