"""Signing reports: pick (or create) the key, sign exact bytes, check who signed.

With ``DUFFLEBAG_SIGNING_KEY`` set, that key must exist and be usable: a
misconfigured marketplace signer should fail loudly, not fall back. With nothing
configured, a single key made by ``keys init`` is used; failing that, a
development key is created and flagged, so a local run still produces a signed
report that the marketplace will refuse.
"""

from __future__ import annotations

import os
from pathlib import Path

from dufflebag_harness.reports._gpg import (
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
from dufflebag_harness.reports.keys import init_key, list_keys, normalize_fingerprint
from dufflebag_harness.reports.model import SignerInfo

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


def _resolve_key(home: Path, explicit: str | None, gpgbinary: str) -> tuple[str, bool]:
    keys = [k for k in list_keys(home, secret=True, gpgbinary=gpgbinary) if k.usable]
    configured = explicit or os.environ.get(KEY_ENV, "").strip()
    if configured:
        source = "fingerprint" if explicit else KEY_ENV
        wanted = normalize_fingerprint(configured, source=source)
        for key in keys:
            if key.fingerprint == wanted:
                return key.fingerprint, key.development
        raise SigningError(
            f"{source} {wanted} is not a usable (present, unexpired) secret key in "
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


class Signer:
    """Signs bytes with one pinned key; refuses a signature made by any other key.

    The key is resolved on first use (see :func:`ensure_signing_key`) unless a
    ``fingerprint`` is given, which must then be a usable secret key in the home.
    The passphrase defaults to ``$DUFFLEBAG_SIGNING_PASSPHRASE``.
    """

    def __init__(
        self,
        gnupghome: Path | None = None,
        *,
        fingerprint: str | None = None,
        passphrase: str | None = None,
        gpgbinary: str = "gpg",
    ) -> None:
        self.home = prepare_home(gnupghome or default_home())
        self.gpgbinary = gpgbinary
        self._explicit = fingerprint
        self._passphrase = read_passphrase(passphrase)
        self._key: tuple[str, bool] | None = None

    def __repr__(self) -> str:
        key = self._key[0] if self._key else "unresolved"
        return f"Signer(home={str(self.home)!r}, key={key})"

    def ensure_key(self) -> tuple[str, bool]:
        """``(fingerprint, is_development)``, resolving (or creating) the key once."""
        if self._key is None:
            self._key = _resolve_key(self.home, self._explicit, self.gpgbinary)
        return self._key

    @property
    def fingerprint(self) -> str:
        return self.ensure_key()[0]

    @property
    def development_key(self) -> bool:
        return self.ensure_key()[1]

    @property
    def info(self) -> SignerInfo:
        """The report's ``signer`` section."""
        fingerprint, development = self.ensure_key()
        return {"fingerprint": fingerprint, "development_key": development}

    def sign(self, data: bytes) -> str:
        """An ASCII-armoured detached signature over exactly ``data``."""
        fingerprint = self.fingerprint
        extra = [] if self._passphrase else ["--pinentry-mode", "error"]
        with gpg_session(self.home, self.gpgbinary) as gpg:
            result = gpg.sign(data, keyid=fingerprint, detach=True, clearsign=False,
                              binary=False, passphrase=self._passphrase,
                              extra_args=["--digest-algo", "SHA256", *extra])
        armour = str(result)
        if not armour.startswith(_ARMOUR) or not result.fingerprint:
            hint = "" if self._passphrase else f" (a protected key needs {PASSPHRASE_ENV})"
            raise SigningError(
                f"gpg did not sign with {fingerprint} in {str(self.home)!r}{hint}: "
                f"{last_lines(result.stderr)}"
            )
        if result.fingerprint != fingerprint:
            raise SigningError(
                f"gpg signed with {result.fingerprint}, not the configured {fingerprint}"
            )
        return armour


def ensure_signing_key(
    target: Signer | Path | None = None, *, gpgbinary: str = "gpg"
) -> tuple[str, bool]:
    """Return ``(fingerprint, is_development)`` of the key to sign with.

    ``target`` is a :class:`Signer` (whose key this resolves and pins) or a
    GnuPG home (default: ``$DUFFLEBAG_GNUPGHOME`` or the user's data dir).
    Order: the signer's explicit fingerprint, else ``$DUFFLEBAG_SIGNING_KEY``
    (either must be a usable secret key in the home); else the one usable key
    made by ``keys init``; else an existing development key; else a new
    development key, whose user ID says the marketplace does not trust it.
    Several ``keys init`` keys and nothing configured is an error naming them.
    """
    signer = target if isinstance(target, Signer) else Signer(target, gpgbinary=gpgbinary)
    return signer.ensure_key()
