"""Signing keys and the Signer: which key signs, what it produces, and no stray agents."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from conftest import KeyHome, running_agents

from dufflebag_harness.reports import (
    GnupgHomeTooLong,
    GpgUnavailable,
    Signer,
    SigningError,
    ensure_signing_key,
    export_keys,
    init_key,
    list_keys,
)
from dufflebag_harness.reports.keys import DEVELOPMENT_COMMENT

YEAR_S = 365 * 24 * 3600


def test_no_key_configured_creates_a_flagged_development_key(gnupg_home: Path) -> None:
    fingerprint, development = ensure_signing_key(gnupg_home)
    assert development is True
    [key] = list_keys(gnupg_home)
    assert key.fingerprint == fingerprint
    assert any(DEVELOPMENT_COMMENT in uid for uid in key.uids)
    assert key.expires is not None
    # a second run reuses it rather than piling up keys
    assert ensure_signing_key(gnupg_home) == (fingerprint, True)
    assert len(list_keys(gnupg_home)) == 1
    assert running_agents(gnupg_home) == []


def test_keys_init_makes_an_expiring_key_that_is_then_preferred(gnupg_home: Path) -> None:
    ensure_signing_key(gnupg_home)  # a development key exists first
    fingerprint = init_key(home=gnupg_home, expire="2y")
    [key] = [k for k in list_keys(gnupg_home) if k.fingerprint == fingerprint]
    assert key.expires is not None
    assert 1.9 * YEAR_S < key.expires - time.time() < 2.1 * YEAR_S
    assert ensure_signing_key(gnupg_home) == (fingerprint, False)
    assert running_agents(gnupg_home) == []


@pytest.mark.parametrize("expire", ["0", "never", "-1y", "2 years"])
def test_keys_must_expire(gnupg_home: Path, expire: str) -> None:
    with pytest.raises(SigningError, match="--expire"):
        init_key(home=gnupg_home, expire=expire)


def test_several_keys_need_a_choice(gnupg_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = init_key(home=gnupg_home)
    second = init_key(home=gnupg_home, name="Second")
    with pytest.raises(SigningError, match="DUFFLEBAG_SIGNING_KEY") as info:
        ensure_signing_key(gnupg_home)
    assert first in str(info.value) and second in str(info.value)
    monkeypatch.setenv("DUFFLEBAG_SIGNING_KEY", second.lower())
    assert ensure_signing_key(gnupg_home) == (second, False)


def test_a_configured_key_that_is_missing_is_an_error_not_a_fallback(
    gnupg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUFFLEBAG_SIGNING_KEY", "B" * 40)
    with pytest.raises(SigningError, match="DUFFLEBAG_SIGNING_KEY"):
        ensure_signing_key(gnupg_home)
    assert list_keys(gnupg_home) == []  # no development key was made instead
    monkeypatch.setenv("DUFFLEBAG_SIGNING_KEY", "not-a-fingerprint")
    with pytest.raises(SigningError, match="not a key fingerprint"):
        ensure_signing_key(gnupg_home)


def test_home_comes_from_the_environment_and_is_private(
    monkeypatch: pytest.MonkeyPatch, gnupg_home: Path
) -> None:
    home = gnupg_home / "h"
    monkeypatch.setenv("DUFFLEBAG_GNUPGHOME", str(home))
    signer = Signer()
    assert signer.home == home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_home_too_long_for_agent_sockets_is_refused_with_advice(gnupg_home: Path) -> None:
    deep = gnupg_home / ("x" * 90)
    with pytest.raises(GnupgHomeTooLong, match="DUFFLEBAG_GNUPGHOME"):
        Signer(deep)
    assert not deep.exists()


def test_sign_produces_a_detached_armoured_signature_by_the_pinned_key(
    signing_key: KeyHome,
) -> None:
    signer = Signer(signing_key.home)
    assert signer.info == {"fingerprint": signing_key.fingerprint, "development_key": False}
    signature = signer.sign(b'{"a":1}')
    assert signature.startswith("-----BEGIN PGP SIGNATURE-----")
    assert signature.rstrip().endswith("-----END PGP SIGNATURE-----")
    assert running_agents(signing_key.home) == []


def test_signing_with_a_key_absent_from_the_home_fails(signing_key: KeyHome,
                                                       other_key: KeyHome) -> None:
    with pytest.raises(SigningError, match=other_key.fingerprint):
        Signer(signing_key.home, fingerprint=other_key.fingerprint).sign(b"x")


def test_passphrase_protected_key_signs_only_with_the_passphrase(
    gnupg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fixed S2K count skips gpg-agent's ~2 s calibration; the protection is the same kind.
    (gnupg_home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    monkeypatch.setenv("DUFFLEBAG_SIGNING_PASSPHRASE", "correct horse")
    fingerprint = init_key(home=gnupg_home)
    assert Signer(gnupg_home).sign(b"x").startswith("-----BEGIN PGP SIGNATURE-----")
    with pytest.raises(SigningError, match="DUFFLEBAG_SIGNING_PASSPHRASE"):
        Signer(gnupg_home, fingerprint=fingerprint, passphrase="").sign(b"x")
    assert running_agents(gnupg_home) == []


def test_export_gives_public_keys_only(signing_key: KeyHome) -> None:
    armour = export_keys(home=signing_key.home)
    assert "BEGIN PGP PUBLIC KEY BLOCK" in armour
    assert "PRIVATE" not in armour
    with pytest.raises(SigningError, match="no public key"):
        export_keys(["C" * 40], home=signing_key.home)


def test_without_gpg_binary_a_clear_error(gnupg_home: Path) -> None:
    with pytest.raises(GpgUnavailable, match="not found"):
        Signer(gnupg_home, gpgbinary="/nonexistent/gpg").sign(b"x")
