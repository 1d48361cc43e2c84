"""The minimal core the hooks extend: signup, login, me, storage, health, metrics.

Each core handler fires the hooks named for it, so every ``HookType`` has a real
trigger. Credentials never reach a hook: ``pre_auth`` sees the username,
``post_login`` sees the result without the token, which is added afterwards.
Post hooks may only tighten authentication decisions, never grant one.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dufflebag_harness.inside.host._faults import abort_response, error_response, json_body
from dufflebag_harness.inside.host._userstore import SignupError
from dufflebag_harness.inside.host.services import RootedStorage
from dufflebag_harness.sdk import HookContext, HookType, RouteSpec, StorageError, User, current_user

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["BodyError", "CoreAPI", "read_body", "read_json"]


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        return error_response(self.status, str(self))


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BodyError(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BodyError(422, "body must be a JSON object")
    return body


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "roles": sorted(user.roles),
    }


_USERNAME_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{3,64}$"}
_PASSWORD_SCHEMA = {"type": "string", "minLength": 8, "maxLength": 256}
_SIGNUP = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": _USERNAME_SCHEMA,
        "password": _PASSWORD_SCHEMA,
        "email": {"type": "string", "maxLength": 254, "pattern": "^([^@]+@[^@]+)?$"},
    },
    "additionalProperties": False,
}
_LOGIN = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
#: A storage path the host accepts: relative, no empty, '.' or '..' segment.
_STORAGE_PATH = {
    "name": "path",
    "in": "path",
    "required": True,
    "schema": {
        "type": "string",
        "pattern": r"^(?!.*(^|/)\.{1,2}(/|$))[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$",
    },
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def _responses(**codes: str) -> dict[str, Any]:
    return {
        code.lstrip("_"): {
            "description": text,
            "content": {"application/json": {"schema": _ERROR}},
        }
        for code, text in codes.items()
    }


class CoreAPI:
    """Core routes; handlers close over the host state."""

    def __init__(self, state: HostState) -> None:
        self._state = state
        self._storage_root = state.storage_root / "_core" / "users"

    def routes(self) -> tuple[RouteSpec, ...]:
        signup = {"required": True, "content": {"application/json": {"schema": _SIGNUP}}}
        login = {"required": True, "content": {"application/json": {"schema": _LOGIN}}}
        raw = {"required": True, "content": {"application/octet-stream": {"schema": {}}}}
        return (
            RouteSpec("/api/v1/auth/signup", self.signup, ("POST",), openapi={
                "summary": "Create a user account", "tags": ["core"], "requestBody": signup,
                "responses": {"201": {"description": "Created"},
                              **_responses(_400="Bad JSON", _403="Signup disabled",
                                           _409="Username taken", _422="Invalid field")},
            }),
            RouteSpec("/api/v1/auth/login", self.login, ("POST",), openapi={
                "summary": "Exchange credentials for a bearer token", "tags": ["core"],
                "requestBody": login,
                "responses": {"200": {"description": "Token"},
                              **_responses(_400="Bad JSON", _401="Invalid credentials",
                                           _422="Invalid field")},
            }),
            RouteSpec("/api/v1/me", self.me, ("GET",), auth=True, openapi={
                "summary": "The authenticated user", "tags": ["core"],
                "responses": {"200": {"description": "User"}},
            }),
            RouteSpec("/api/v1/storage/{path:path}", self.upload, ("PUT",), auth=True, openapi={
                "summary": "Upload a file to the user's storage", "tags": ["core"],
                "requestBody": raw, "parameters": [_STORAGE_PATH],
                "responses": {"201": {"description": "Stored"},
                              **_responses(_400="Invalid path", _413="Too large")},
            }),
            RouteSpec("/api/v1/storage/{path:path}", self.download, ("GET",), auth=True,
                      openapi={
                "summary": "Download a file from the user's storage", "tags": ["core"],
                "parameters": [_STORAGE_PATH],
                "responses": {"200": {"description": "File"},
                              **_responses(_400="Invalid path", _404="Not found")},
            }),
            RouteSpec("/healthz", self.healthz, ("GET",), openapi={
                "summary": "Liveness and extension states", "tags": ["core"],
                "responses": {"200": {"description": "OK"}},
            }),
            RouteSpec("/metrics", self.metrics, ("GET",), openapi={
                "summary": "Prometheus metrics", "tags": ["core"],
                "responses": {"200": {"description": "Prometheus text format"}},
            }),
        )

    # -- auth ---------------------------------------------------------------
    async def signup(self, request: Request) -> Response:
        state = self._state
        if not state.options.allow_signup:
            return error_response(403, "signup is disabled on this host")
        try:
            body = await read_json(request, state.options.max_json_bytes)
        except BodyError as exc:
            return exc.response()
        path = request.url.path
        pre = HookContext(
            type=HookType.PRE_DATABASE,
            request=request,
            payload={
                "operation": "create_user",
                "username": body.get("username"),
                "email": body.get("email", ""),
            },
        )
        await state.fire(HookType.PRE_DATABASE, pre, path)
        if pre.aborted is not None:
            return abort_response(*pre.aborted)
        try:
            user = await anyio.to_thread.run_sync(
                state.store.create,
                pre.payload.get("username"),
                pre.payload.get("email", ""),
                body.get("password"),
            )
        except SignupError as exc:
            return error_response(exc.status, str(exc), field=exc.field)
        post = HookContext(
            type=HookType.POST_DATABASE,
            request=request,
            user=user,
            payload=pre.payload,
            result=_user_json(user),
        )
        await state.fire(HookType.POST_DATABASE, post, path)
        done = HookContext(
            type=HookType.POST_SIGNUP, request=request, user=user, result=post.result
        )
        await state.fire(HookType.POST_SIGNUP, done, path)
        state.audit(user.id, "user.signup", {"username": user.username})
        return json_body(201, dict(done.result))

    async def login(self, request: Request) -> Response:
        state = self._state
        try:
            body = await read_json(request, state.options.max_json_bytes)
        except BodyError as exc:
            return exc.response()
        path = request.url.path
        pre = HookContext(
            type=HookType.PRE_AUTH, request=request, payload={"username": body.get("username")}
        )
        await state.fire(HookType.PRE_AUTH, pre, path)
        if pre.aborted is not None:
            return abort_response(*pre.aborted)
        username, password = pre.payload.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return error_response(422, "username and password must be strings")
        user = await anyio.to_thread.run_sync(state.store.check_password, username, password)
        ok = user is not None and not user.is_deleted
        post = HookContext(
            type=HookType.POST_AUTH,
            request=request,
            user=user,
            payload=pre.payload,
            result={"authenticated": ok, "user_id": user.id if user else None},
        )
        await state.fire(HookType.POST_AUTH, post, path)
        if user is None or not ok or post.result.get("authenticated") is False:
            state.audit(None, "user.login_failed", {"username": username})
            return error_response(401, "invalid credentials")
        token = await anyio.to_thread.run_sync(state.store.issue_token, user.id)
        done = HookContext(
            type=HookType.POST_LOGIN, request=request, user=user, result={"user_id": user.id}
        )
        await state.fire(HookType.POST_LOGIN, done, path)
        state.audit(user.id, "user.login", {"username": user.username})
        return json_body(200, {**dict(done.result), "token": token})

    async def me(self, request: Request) -> Response:
        user = current_user(request)
        assert user is not None  # the auth gate admitted the request
        return JSONResponse(_user_json(user))

    # -- storage ------------------------------------------------------------
    def _storage_for(self, user: User) -> RootedStorage:
        return RootedStorage(self._storage_root / str(user.id))

    async def upload(self, request: Request) -> Response:
        state = self._state
        user = current_user(request)
        assert user is not None
        try:
            data = await read_body(request, state.options.max_upload_bytes)
        except BodyError as exc:
            return exc.response()
        before = HookContext(
            type=HookType.BEFORE_UPLOAD,
            request=request,
            user=user,
            payload={
                "path": request.path_params["path"],
                "size": len(data),
                "content_type": request.headers.get("content-type", ""),
                "data": data,
            },
        )
        await state.fire(HookType.BEFORE_UPLOAD, before, request.url.path)
        if before.aborted is not None:
            return abort_response(*before.aborted)
        target, payload = before.payload.get("path"), before.payload.get("data")
        if not isinstance(payload, bytes):
            return error_response(500, "a before_upload hook replaced the data with non-bytes")
        try:
            await self._storage_for(user).write(str(target), payload)
        except StorageError as exc:
            return error_response(400, str(exc))
        after = HookContext(
            type=HookType.AFTER_UPLOAD,
            request=request,
            user=user,
            payload={"path": target},
            result={
                "path": target,
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            },
        )
        await state.fire(HookType.AFTER_UPLOAD, after, request.url.path)
        state.audit(user.id, "storage.upload", {"path": target, "size": len(payload)})
        return json_body(201, dict(after.result))

    async def download(self, request: Request) -> Response:
        state = self._state
        user = current_user(request)
        assert user is not None
        before = HookContext(
            type=HookType.BEFORE_DOWNLOAD,
            request=request,
            user=user,
            payload={"path": request.path_params["path"]},
        )
        await state.fire(HookType.BEFORE_DOWNLOAD, before, request.url.path)
        if before.aborted is not None:
            return abort_response(*before.aborted)
        target = str(before.payload.get("path"))
        storage = self._storage_for(user)
        try:
            storage.resolve(target)
        except StorageError as exc:
            return error_response(400, str(exc))
        try:
            data = await storage.read(target)
        except StorageError:
            return error_response(404, "not found")
        media = mimetypes.guess_type(target)[0] or "application/octet-stream"
        after = HookContext(
            type=HookType.AFTER_DOWNLOAD,
            request=request,
            user=user,
            payload={"path": target},
            result={"path": target, "size": len(data), "headers": {"content-type": media}},
        )
        await state.fire(HookType.AFTER_DOWNLOAD, after, request.url.path)
        headers = after.result.get("headers")
        safe = (
            {str(k): str(v) for k, v in headers.items()}
            if isinstance(headers, Mapping)
            else {}
        )
        return Response(data, headers=safe)

    # -- operations ------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        states = {name: rec.state.value for name, rec in self._state.records.items()}
        return JSONResponse({"status": "ok", "extensions": states})

    async def metrics(self, request: Request) -> Response:
        return Response(
            generate_latest(self._state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )
