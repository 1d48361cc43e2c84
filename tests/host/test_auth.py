"""Bearer tokens, roles, the deleted role, permissions, signup and login."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.inside.host import HostOptions
from dufflebag_harness.inside.host.services import ReadOnlyAuth
from dufflebag_harness.sdk import (
    AuthService,
    Extension,
    JSONResponse,
    Permission,
    Request,
    Response,
    current_user,
)

from ._helpers import TOKENS, auth, meta, run, serve, with_password


class Guarded(Extension):
    metadata = meta("guarded")
    permissions = (Permission("guarded.view", "reports", ("read",)),)
    roles = ("auditor",)

    def register_routes(self, router: Any) -> None:
        async def who(request: Request) -> Response:
            user = current_user(request)
            return JSONResponse({"user": user.username if user else None})

        async def can(request: Request) -> Response:
            user = current_user(request)
            assert user is not None
            checks = {
                p: self.services.auth.check_permission(user, p)
                for p in ("guarded.view", "unknown.perm")
            }
            return JSONResponse(checks)

        router.get("/open", who)
        router.get("/members", who, auth=True)
        router.get("/managers", who, roles=("manager", "auditor"))
        router.get("/reports", who, permission="guarded.view")
        router.get("/can", can, auth=True)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/open", {None: 200, "admin": 200, "user": 200, "deleted": 200, "bogus": 200}),
        ("/members", {None: 401, "bogus": 401, "user": 200, "outsider": 200, "deleted": 403}),
        ("/managers", {None: 401, "user": 403, "admin": 403, "manager": 200, "deleted": 403}),
        ("/reports", {None: 401, "user": 403, "admin": 200, "deleted": 403, "outsider": 403}),
    ],
)
def test_protected_routes_answer_by_role(
    tmp_path: Path, path: str, expected: dict[str | None, int]
) -> None:
    async def body() -> None:
        async with serve(tmp_path, Guarded()) as (_host, client):
            for role, status in expected.items():
                if role is None:
                    headers = {}
                elif role == "bogus":
                    headers = {"Authorization": "Bearer not-a-token"}
                else:
                    headers = auth(role)
                r = await client.get(f"/ext/guarded{path}", headers=headers)
                assert r.status_code == status, (role, r.text)
                if status == 401:
                    assert r.headers["www-authenticate"] == "Bearer"

    run(body())


def test_handler_sees_the_resolved_user(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Guarded()) as (_host, client):
            r = await client.get("/ext/guarded/members", headers=auth("manager"))
            assert r.json() == {"user": "manager"}
            r = await client.get("/ext/guarded/open", headers={"Authorization": "Basic xyz"})
            assert r.json() == {"user": None}

    run(body())


def test_permissions_integrate_with_roles_and_options(tmp_path: Path) -> None:
    from dufflebag_harness.inside.host import SeedUser

    users = (
        SeedUser(1, "admin", frozenset({"admin"}), TOKENS["admin"]),
        SeedUser(2, "auditor", frozenset({"auditor"}), "tok-auditor-1"),
        SeedUser(3, "owner", frozenset({"guarded"}), "tok-owner-01"),
        SeedUser(4, "direct", frozenset({"guarded.view"}), "tok-direct-1"),
        SeedUser(5, "plain", frozenset({"user"}), "tok-plain-01"),
    )
    options = HostOptions(role_permissions={"auditor": frozenset({"guarded.view"})})

    async def body() -> None:
        async with serve(tmp_path, Guarded(), options=options, users=users) as (_h, client):
            for token, granted in [
                (TOKENS["admin"], True),
                ("tok-auditor-1", True),  # via HostOptions.role_permissions
                ("tok-owner-01", True),  # role named like the owning extension
                ("tok-direct-1", True),  # role named like the permission
                ("tok-plain-01", False),
            ]:
                r = await client.get(
                    "/ext/guarded/can", headers={"Authorization": f"Bearer {token}"}
                )
                assert r.json() == {"guarded.view": granted, "unknown.perm": False}, token
            r = await client.get("/ext/guarded/managers", headers={
                "Authorization": "Bearer tok-auditor-1"})
            assert r.status_code == 200  # an extension-defined role admits

    run(body())


def test_auth_service_has_no_writing_method() -> None:
    public = {n for n, _ in inspect.getmembers(ReadOnlyAuth) if not n.startswith("_")}
    assert public == {"get_user", "validate_token", "check_permission", "has_role"}
    protocol = {n for n in dir(AuthService) if not n.startswith("_")}
    assert public == protocol


def test_signup_login_me(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path) as (host, client):
            r = await client.post(
                "/api/v1/auth/signup",
                json={"username": "carol", "password": "s3cret-pass", "email": "c@example.org"},
            )
            assert r.status_code == 201
            created = r.json()
            assert created["username"] == "carol" and created["roles"] == ["user"]
            assert created["id"] not in {1, 2, 3, 4, 5}
            again = await client.post(
                "/api/v1/auth/signup", json={"username": "carol", "password": "another-pass"}
            )
            assert again.status_code == 409 and again.json()["field"] == "username"
            bad = await client.post("/api/v1/auth/signup", json={"username": "c", "password": "x"})
            assert bad.status_code == 422 and bad.json()["field"] == "username"
            wrong = await client.post(
                "/api/v1/auth/login", json={"username": "carol", "password": "nope-nope"}
            )
            assert wrong.status_code == 401
            login = await client.post(
                "/api/v1/auth/login", json={"username": "carol", "password": "s3cret-pass"}
            )
            token = login.json()["token"]
            me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["username"] == "carol"
            assert (await client.get("/api/v1/me")).status_code == 401
            actions = [e.action for e in host.audit_log]
            assert actions.count("user.signup") == 1
            assert "user.login_failed" in actions and "user.login" in actions
            assert all("s3cret" not in str(e.metadata) for e in host.audit_log)

    run(body())


def test_deleted_user_cannot_log_in_or_reach_core_routes(tmp_path: Path) -> None:
    users = with_password("deleted", "deleted-pass-1")

    async def body() -> None:
        async with serve(tmp_path, users=users) as (_host, client):
            r = await client.post(
                "/api/v1/auth/login", json={"username": "deleted", "password": "deleted-pass-1"}
            )
            assert r.status_code == 401
            assert (await client.get("/api/v1/me", headers=auth("deleted"))).status_code == 403
            r = await client.get("/api/v1/extensions", headers=auth("deleted"))
            assert r.status_code == 403

    run(body())


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"{not json", 400), (b"[1, 2]", 422), (b'{"username": 1, "password": 2}', 422)],
)
def test_login_rejects_malformed_bodies(tmp_path: Path, content: bytes, status: int) -> None:
    async def body() -> None:
        async with serve(tmp_path) as (_host, client):
            r = await client.post("/api/v1/auth/login", content=content)
            assert r.status_code == status

    run(body())


def test_signup_can_be_turned_off(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, options=HostOptions(allow_signup=False)) as (_h, client):
            r = await client.post(
                "/api/v1/auth/signup", json={"username": "dave", "password": "long-enough"}
            )
            assert r.status_code == 403

    run(body())
