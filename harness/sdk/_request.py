"""Request helpers: the user the host authenticated for this request."""

from __future__ import annotations

from starlette.requests import Request

from dufflebag_harness.sdk._services import User

#: Key in the ASGI scope's ``state`` where the host stores the resolved user.
USER_STATE_KEY = "dufflebag_user"


def current_user(request: Request) -> User | None:
    """The authenticated user of ``request``, or ``None`` for anonymous."""
    state = request.scope.get("state") or {}
    user = state.get(USER_STATE_KEY)
    return user if isinstance(user, User) else None
