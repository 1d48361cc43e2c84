"""Signing reports: pick (or create) the key, sign exact bytes, check who signed.

With ``DUFFLEBAG_SIGNING_KEY`` set, that key must exist and be usable: a
misconfigured marketplace signer should fail loudly, not fall back. With nothing
configured, a single key made by ``keys init`` is used; failing that, a
development key is created and flagged, so a local run still produces a signed
report that the marketplace will refuse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reports._gpg import (
    PASSPHRASE_ENV,
    GnupgHomeTooLong,
    GpgUnavailable,
    SigningError,
    default_home,
    gpg_session,
    last_lines,
    prepare_home,
    read_passphrase,
)
from reports.keys import init_key, list_keys, normalize_fingerprint
from reports.model import SignerInfo

__all__ = [
    "KEY_ENV",
    "GnupgHomeTooLong",
    "GpgUnavailable",
    "Signer",
    "SigningError",
    "ensure_signing_key",
    "signing_home",
]

KEY_ENV = "DUFFLEBAG_SIGNING_KEY"
_ARMOUR = "-----BEGIN PGP SIGNATURE-----"


def signing_home() -> Path:
    """The GnuPG home used for signing (``$DUFFLEBAG_GNUPGHOME`` or the default)."""
    return default_home()


def ensure_signing_key(home: Path | None = None, *, gpgbinary: str = "gpg") -> tuple[str, bool]:
    """Return ``(fingerprint, is_development)`` of the key to sign with.

    Order: ``$DUFFLEBAG_SIGNING_KEY`` (must be a usable secret key in the home);
    else the one usable non-development key; else an existing development key;
    else a new development key. Several candidate keys without a configured one
    is an error naming them.
    """
    home = prepare_home(home or default_home())
    keys = [k for k in list_keys(home, secret=True, gpgbinary=gpgbinary) if k.usable]
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        wanted = normalize_fingerprint(configured, source=KEY_ENV)
        for key in keys:
            if key.fingerprint == wanted:
                return key.fingerprint, key.development
        raise SigningError(
            f"{KEY_ENV}={wanted} is not a usable (present, unexpired) secret key in "
            f"{str(home)!r}; see `dufflebag-cert keys list`"
        )
    real = [k for k in keys if not k.development]
    if len(real) == 1:
        return real[0].fingerprint, False
    if len(real) > 1:
        raise SigningError(
            f"several signing keys in {str(home)!r}: "
            f"{', '.join(k.fingerprint for k in real)}; set {KEY_ENV} to choose one"
        )
    development = [k for k in keys if k.development]
    if development:
        return development[-1].fingerprint, True
    fingerprint = init_key(
        name="DuffleBag development", email="development@dufflebag.invalid", expire="1y",
        home=home, passphrase="", development=True, gpgbinary=gpgbinary,
    )
    return fingerprint, True


@dataclass(frozen=True)
class Signer:
    """Signs bytes with one pinned key; refuses a signature made by any other key."""

    fingerprint: str
    development_key: bool = False
    home: Path = field(default_factory=signing_home)
    passphrase: str | None = field(default=None, repr=False)
    gpgbinary: str = "gpg"

    @classmethod
    def from_environment(cls, home: Path | None = None, *, gpgbinary: str = "gpg") -> Signer:
        """The signer ``certify`` uses: :func:`ensure_signing_key` plus the env passphrase."""
        home = prepare_home(home or default_home())
        fingerprint, development = ensure_signing_key(home, gpgbinary=gpgbinary)
        return cls(fingerprint, development, home, read_passphrase(None), gpgbinary)

    @property
    def info(self) -> SignerInfo:
        """The report's ``signer`` section."""
        return {"fingerprint": self.fingerprint, "development_key": self.development_key}

    def sign(self, data: bytes) -> str:
        """An ASCII-armoured detached signature over exactly ``data``."""
        home = prepare_home(self.home)
        extra = [] if self.passphrase else ["--pinentry-mode", "error"]
        with gpg_session(home, self.gpgbinary) as gpg:
            result = gpg.sign(data, keyid=self.fingerprint, detach=True, clearsign=False,
                              binary=False, passphrase=self.passphrase or None,
                              extra_args=["--digest-algo", "SHA256", *extra])
        armour = str(result)
        if not armour.startswith(_ARMOUR) or not result.fingerprint:
            hint = "" if self.passphrase else f" (a protected key needs {PASSPHRASE_ENV})"
            raise SigningError(
                f"gpg did not sign with {self.fingerprint} in {str(home)!r}{hint}: "
                f"{last_lines(result.stderr)}"
            )
        if result.fingerprint != self.fingerprint:
            raise SigningError(
                f"gpg signed with {result.fingerprint}, not the configured {self.fingerprint}"
            )
        return armour
