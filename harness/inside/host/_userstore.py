"""The core user store: users and bearer tokens in the host's own database.

Tables live in the core database (``DatabaseProvider.core_engine()``), which no
extension can reach. Only token *hashes* are stored. Because the host is the
only writer, an in-memory index mirrors the tables so resolving a token on
every request needs no database round-trip.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dufflebag_harness.inside.host._options import SeedUser
from dufflebag_harness.sdk import User

__all__ = ["SignupError", "UserStore", "hash_password", "verify_password"]

_METADATA = sa.MetaData()
USERS = sa.Table(
    "host_users",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=False, default=""),
    sa.Column("password_hash", sa.String(256), nullable=True),
    sa.Column("roles", sa.String(1024), nullable=False, default=""),
)
TOKENS = sa.Table(
    "host_tokens",
    _METADATA,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("host_users.id"), nullable=False),
)

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class SignupError(ValueError):
    """Signup refused; ``field`` names the offending input, ``status`` the HTTP answer."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.status = status


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
            dklen=32,
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to check against for unknown users, so timing does not tell them apart."""
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_hex(8)))
    return _DUMMY[0]


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _roles_text(roles: frozenset[str]) -> str:
    return ",".join(sorted(roles))


class UserStore:
    """Users and tokens: tables as the record, an in-memory index for lookups."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._users: dict[int, User] = {}
        self._by_name: dict[str, int] = {}
        self._tokens: dict[str, int] = {}

    # -- setup -------------------------------------------------------------
    def setup(self, seeds: Sequence[SeedUser]) -> None:
        """Create the tables, write the seed users, load everything into memory."""
        _METADATA.create_all(self._engine, checkfirst=True)
        with self._engine.begin() as conn:
            for seed in seeds:
                values: dict[str, Any] = {
                    "username": seed.username,
                    "email": seed.email,
                    "password_hash": hash_password(seed.password) if seed.password else None,
                    "roles": _roles_text(frozenset(seed.roles)),
                }
                exists = conn.execute(
                    sa.select(USERS.c.id).where(USERS.c.id == seed.id)
                ).first()
                if exists:
                    conn.execute(sa.update(USERS).where(USERS.c.id == seed.id).values(**values))
                else:
                    conn.execute(sa.insert(USERS).values(id=seed.id, **values))
                key = _token_key(seed.token)
                conn.execute(sa.delete(TOKENS).where(TOKENS.c.token_sha256 == key))
                conn.execute(sa.insert(TOKENS).values(token_sha256=key, user_id=seed.id))
            users = conn.execute(sa.select(USERS)).mappings().all()
            tokens = conn.execute(sa.select(TOKENS)).mappings().all()
        with self._lock:
            for row in users:
                self._remember(
                    User(
                        id=row["id"],
                        username=row["username"],
                        email=row["email"] or "",
                        roles=frozenset(r for r in (row["roles"] or "").split(",") if r),
                    )
                )
            self._tokens.update({t["token_sha256"]: t["user_id"] for t in tokens})

    def _remember(self, user: User) -> None:
        self._users[user.id] = user
        self._by_name[user.username] = user.id

    # -- reads (memory only) -----------------------------------------------
    def by_token(self, token: str) -> User | None:
        user_id = self._tokens.get(_token_key(token))
        return None if user_id is None else self._users.get(user_id)

    def get(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def count(self) -> int:
        return len(self._users)

    # -- writes (blocking: call from a worker thread) ----------------------
    def create(self, username: object, email: object, password: object) -> User:
        """Create a ``user``-role account; :class:`SignupError` names the bad field."""
        if not isinstance(username, str) or not _USERNAME.match(username):
            raise SignupError("username", "3-64 characters of letters, digits, '_.@-'")
        if not isinstance(password, str) or not 8 <= len(password) <= 256:
            raise SignupError("password", "must be a string of 8-256 characters")
        if email is None:
            email = ""
        if not isinstance(email, str) or len(email) > 254 or (email and "@" not in email):
            raise SignupError("email", "must be an e-mail address")
        password_hash = hash_password(password)
        with self._lock:
            if username in self._by_name:
                raise SignupError("username", f"{username!r} is taken", status=409)
            with self._engine.begin() as conn:
                next_id = (conn.execute(sa.select(sa.func.max(USERS.c.id))).scalar() or 0) + 1
                conn.execute(
                    sa.insert(USERS).values(
                        id=next_id,
                        username=username,
                        email=email,
                        password_hash=password_hash,
                        roles="user",
                    )
                )
            user = User(id=next_id, username=username, email=email, roles=frozenset({"user"}))
            self._remember(user)
        return user

    def check_password(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs; ``None`` otherwise (no hint which part failed)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(USERS.c.id, USERS.c.password_hash).where(USERS.c.username == username)
            ).first()
        if row is None:
            verify_password(password, _dummy_hash())  # same cost either way
            return None
        if not verify_password(password, row.password_hash):
            return None
        return self._users.get(row.id)

    def issue_token(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        key = _token_key(token)
        with self._engine.begin() as conn:
            conn.execute(sa.insert(TOKENS).values(token_sha256=key, user_id=user_id))
        with self._lock:
            self._tokens[key] = user_id
        return token
