"""Auth service for extensions: read-only by construction (no writing method exists)."""

from __future__ import annotations

from dufflebag_harness.inside.host._auth import Authorizer
from dufflebag_harness.sdk import User

__all__ = ["ReadOnlyAuth"]


class ReadOnlyAuth:
    """Implements :class:`dufflebag_harness.sdk.AuthService` over the host's authorizer."""

    __slots__ = ("_authz",)

    def __init__(self, authz: Authorizer) -> None:
        self._authz = authz

    async def get_user(self, user_id: int) -> User | None:
        return self._authz.get_user(user_id)

    async def validate_token(self, token: str) -> User | None:
        return self._authz.user_for(token) if isinstance(token, str) and token else None

    def check_permission(self, user: User, permission: str) -> bool:
        return self._authz.check_permission(user, permission)

    def has_role(self, user: User, *roles: str) -> bool:
        return user.has_role(*roles)
