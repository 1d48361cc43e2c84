"""Signing keys: create (``keys init``), export and list, in the harness's GnuPG home.

Keys are ed25519, sign-only and always expire. A passphrase is optional; when
``DUFFLEBAG_SIGNING_PASSPHRASE`` is set, it protects the key and is fed to gpg
through loopback pinentry. A *development key* is made automatically when
nothing is configured; its user ID says the marketplace does not trust it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dufflebag_harness.reports._gpg import (
    PASSPHRASE_ENV,
    SigningError,
    default_home,
    gpg_session,
    last_lines,
    prepare_home,
    read_passphrase,
)

__all__ = [
    "DEVELOPMENT_COMMENT",
    "PASSPHRASE_ENV",
    "KeyInfo",
    "export_keys",
    "init_key",
    "list_keys",
    "normalize_fingerprint",
]

DEVELOPMENT_COMMENT = "dufflebag development key — not trusted by the marketplace"
_EXPIRE = re.compile(r"^([1-9][0-9]{0,3}[dwmy]|[0-9]{4}-[0-9]{2}-[0-9]{2})$")
_FINGERPRINT = re.compile(r"^([0-9A-F]{40}|[0-9A-F]{64})$")


@dataclass(frozen=True)
class KeyInfo:
    """A key as ``keys list`` shows it."""

    fingerprint: str
    uids: tuple[str, ...]
    created: int
    expires: int | None
    secret: bool
    usable: bool

    @property
    def development(self) -> bool:
        return any(DEVELOPMENT_COMMENT in uid for uid in self.uids)


def normalize_fingerprint(value: str, *, source: str) -> str:
    """Upper-case hex without spaces or ``0x``; anything else is refused, naming ``source``."""
    cleaned = value.replace(" ", "").upper().removeprefix("0X")
    if not _FINGERPRINT.match(cleaned):
        raise SigningError(f"{source}: {value!r} is not a key fingerprint (40 hex digits)")
    return cleaned


def _key_info(raw: dict[str, Any], secret: bool, now: float) -> KeyInfo:
    expires = int(raw["expires"]) if raw.get("expires") else None
    usable = (
        raw.get("trust") not in ("e", "r", "i", "d")
        and "S" in raw.get("cap", "").upper()
        and (expires is None or expires > now)
    )
    return KeyInfo(
        fingerprint=raw["fingerprint"],
        uids=tuple(raw.get("uids", ())),
        created=int(raw.get("date") or 0),
        expires=expires,
        secret=secret,
        usable=usable,
    )


def list_keys(home: Path | None = None, *, secret: bool = True,
              gpgbinary: str = "gpg") -> list[KeyInfo]:
    """Keys in ``home`` (secret keys by default), oldest first."""
    home = prepare_home(home or default_home())
    with gpg_session(home, gpgbinary) as gpg:
        listed = gpg.list_keys(secret=secret)
    now = time.time()
    return sorted((_key_info(k, secret, now) for k in listed), key=lambda k: k.created)


def init_key(
    *,
    name: str = "DuffleBag certification",
    email: str = "certification@dufflebag.invalid",
    expire: str = "2y",
    home: Path | None = None,
    passphrase: str | None = None,
    development: bool = False,
    gpgbinary: str = "gpg",
) -> str:
    """Create an ed25519 sign-only key that expires; return its fingerprint.

    ``expire`` is gpg's form (``2y``, ``18m``, ``90d``) or a date; a key that never
    expires is refused. The passphrase defaults to ``$DUFFLEBAG_SIGNING_PASSPHRASE``.
    """
    if not _EXPIRE.match(expire):
        raise SigningError(
            f"--expire {expire!r}: give a period like 2y, 18m, 90d or a date YYYY-MM-DD "
            "(keys must expire)"
        )
    if not name.strip() or any(c in name + email for c in "<>()\r\n"):
        raise SigningError("--name/--email: must be non-empty and free of <, >, ( and )")
    secret = read_passphrase(passphrase)
    home = prepare_home(home or default_home())
    params: dict[str, Any] = {
        "key_type": "EDDSA",
        "key_curve": "ed25519",
        "key_usage": "sign",
        "name_real": name,
        "name_email": email,
        "expire_date": expire,
    }
    if development:
        params["name_comment"] = DEVELOPMENT_COMMENT
    if secret:
        params["passphrase"] = secret
    else:
        params["no_protection"] = True
    with gpg_session(home, gpgbinary) as gpg:
        result = gpg.gen_key(gpg.gen_key_input(**params))
    fingerprint = str(result.fingerprint or "")
    if not fingerprint:
        raise SigningError(
            f"gpg could not create a key in {str(home)!r}: "
            f"{(result.status or '').strip()} {last_lines(result.stderr)}".strip()
        )
    return fingerprint


def export_keys(fingerprints: Sequence[str] | None = None, *, home: Path | None = None,
                gpgbinary: str = "gpg") -> str:
    """ASCII-armoured public keys: the given fingerprints, or all when ``None``."""
    home = prepare_home(home or default_home())
    wanted = [normalize_fingerprint(f, source="keys export") for f in fingerprints or ()]
    with gpg_session(home, gpgbinary) as gpg:
        known = {k["fingerprint"] for k in gpg.list_keys()}
        missing = [f for f in wanted if f not in known]
        if missing:
            raise SigningError(f"no public key {', '.join(missing)} in {str(home)!r}")
        if fingerprints is None:
            wanted = sorted(known)
        if not wanted:
            raise SigningError(f"no keys to export in {str(home)!r} (run keys init)")
        armour = str(gpg.export_keys(wanted))
    if "BEGIN PGP PUBLIC KEY BLOCK" not in armour:
        raise SigningError(f"gpg exported nothing for {', '.join(wanted)}")
    return armour
