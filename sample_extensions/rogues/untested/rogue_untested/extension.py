"""Polls: create one, vote once per user, read the results, close it."""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, current_user
from rogue_untested._polls import Poll, PollError, parse_poll


class Rogue(Extension):
    metadata = Metadata(
        name="untested",
        version="1.0.0",
        description="Polls and votes, with tests that only check that it answers",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/untested",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.polls: dict[int, Poll] = {}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/polls", self.create, auth=True)
        router.post("/polls/{poll_id:int}/votes", self.vote, auth=True)
        router.get("/polls/{poll_id:int}", self.results)
        router.post("/polls/{poll_id:int}/close", self.close, roles=("admin", "manager"))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def _body(self, request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    def _poll(self, request: Request) -> Poll | None:
        return self.polls.get(int(request.path_params["poll_id"]))

    async def create(self, request: Request) -> Response:
        try:
            poll = parse_poll(await self._body(request), len(self.polls) + 1)
        except PollError as exc:
            return JSONResponse({"error": str(exc)}, 422)
        self.polls[poll.id] = poll
        return JSONResponse({"id": poll.id}, 201)

    async def vote(self, request: Request) -> Response:
        poll = self._poll(request)
        if poll is None:
            return JSONResponse({"error": "no such poll"}, 404)
        body = await self._body(request)
        option = body.get("option") if isinstance(body, dict) else None
        if not isinstance(option, int) or isinstance(option, bool):
            return JSONResponse({"error": "option: an integer is required"}, 422)
        user = current_user(request)
        try:
            poll.vote(user.id if user else 0, option)
        except PollError as exc:
            return JSONResponse({"error": str(exc)}, 409)
        return JSONResponse(poll.results())

    async def results(self, request: Request) -> Response:
        poll = self._poll(request)
        if poll is None:
            return JSONResponse({"error": "no such poll"}, 404)
        return JSONResponse(poll.results())

    async def close(self, request: Request) -> Response:
        poll = self._poll(request)
        if poll is None:
            return JSONResponse({"error": "no such poll"}, 404)
        poll.closed = True
        return JSONResponse(poll.results())
