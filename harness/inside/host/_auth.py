"""Authentication (bearer token → user) and authorization decisions.

One place decides for core routes, management routes and extension routes,
so ``deleted`` is refused everywhere by the same line. Extension permissions
are registered here when an extension loads; ``admin`` holds every defined
permission, a role named like the permission or like the owning extension
holds it too, and ``HostOptions.role_permissions`` grants more.
"""

from __future__ import annotations

from collections.abc import Mapping

from dufflebag_harness.inside.host._userstore import UserStore
from dufflebag_harness.sdk import Permission, User

__all__ = ["Authorizer", "bearer_token"]


def bearer_token(header: bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    if not header:
        return None
    scheme, _, token = header.decode("latin-1").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class Authorizer:
    """Resolves tokens and makes role/permission decisions."""

    def __init__(self, store: UserStore, role_permissions: Mapping[str, frozenset[str]]) -> None:
        self._store = store
        self._role_permissions = {r: frozenset(p) for r, p in role_permissions.items()}
        self._owners: dict[str, str] = {}

    # -- permissions the extensions define --------------------------------
    def define(self, extension: str, permissions: tuple[Permission, ...]) -> None:
        """Register ``extension``'s permissions; refuse a name another one defined."""
        for perm in permissions:
            if not isinstance(perm, Permission):
                raise TypeError(f"permissions must be Permission objects, got {perm!r}")
            owner = self._owners.get(perm.name)
            if owner is not None and owner != extension:
                raise ValueError(
                    f"permission {perm.name!r} is already defined by extension {owner!r}"
                )
        for perm in permissions:
            self._owners[perm.name] = extension

    def forget(self, extension: str) -> None:
        self._owners = {p: e for p, e in self._owners.items() if e != extension}

    def defined(self) -> Mapping[str, str]:
        return dict(self._owners)

    # -- decisions ---------------------------------------------------------
    def user_for(self, token: str | None) -> User | None:
        return None if token is None else self._store.by_token(token)

    def get_user(self, user_id: int) -> User | None:
        return self._store.get(user_id)

    def check_permission(self, user: User | None, permission: str) -> bool:
        if user is None or user.is_deleted:
            return False
        owner = self._owners.get(permission)
        granted_by_option = any(
            permission in self._role_permissions.get(role, ()) for role in user.roles
        )
        if owner is None and not granted_by_option:
            return False  # unknown permissions are nobody's, so a typo never grants
        if "admin" in user.roles or permission in user.roles or granted_by_option:
            return True
        return owner is not None and owner in user.roles

    def decide(
        self,
        user: User | None,
        *,
        auth: bool,
        roles: tuple[str, ...] = (),
        permission: str | None = None,
    ) -> int | None:
        """``None`` to admit, or the refusal status: 401 anonymous, 403 otherwise."""
        if not auth:
            return None
        if user is None:
            return 401
        if user.is_deleted:
            return 403
        if roles and not user.has_role(*roles):
            return 403
        if permission is not None and not self.check_permission(user, permission):
            return 403
        return None
