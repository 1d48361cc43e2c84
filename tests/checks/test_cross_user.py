"""IS-13: concurrent requests of different users to one extension each get their own answer.

How an answer is judged (its own marker and caller where, alone, it always echoed them),
and end to end: per-request state kept on the extension fails, the same extension
keeping it per request passes, and a route listing everyone's shared data is no false
positive.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.conformance._isolation_users import (
    Answer,
    Slots,
    Template,
    judge,
    templates,
)
from dufflebag_harness.conformance._routes import Route
from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]
ROGUE = ROOT / "sample_extensions" / "rogues" / "request_context"
USERS = {"user": {"id": 3, "username": "user_user"},
         "manager": {"id": 2, "username": "manager_user"}}
SEARCH = Template("GET", "/ext/x/search", ("user", "manager"), ("q",))
SLOTS = {SEARCH: Slots(200, markers=(("query",),), identities=(("user",),))}


def _answer(role: str, mark: str, body: dict[str, Any], status: int = 200) -> Answer:
    return Answer(SEARCH, role, mark, status, json.dumps(body).encode())


def test_answers_with_their_own_marker_and_caller_pass() -> None:
    a = _answer("user", "dbhm000000000001", {"query": "dbhm000000000001", "user": "user_user"})
    b = _answer("manager", "dbhm000000000002",
                {"query": "dbhm000000000002", "user": "manager_user"})
    verdict = judge([a, b], SLOTS, USERS)
    assert (verdict.crossed, verdict.judged) == (0, 2)


def test_another_requests_marker_or_user_is_a_crossed_answer() -> None:
    a = _answer("user", "dbhm000000000001", {"query": "dbhm000000000002", "user": "user_user"})
    b = _answer("manager", "dbhm000000000002",
                {"query": "dbhm000000000002", "user": "user_user"})
    verdict = judge([a, b], SLOTS, USERS)
    assert verdict.crossed == 2
    first, second = verdict.problems
    assert first["problem"] == "query carries another request's marker"
    assert first["other"] == "GET /ext/x/search as manager"
    assert second["problem"] == "user names the user user"


def test_a_lost_marker_is_crossed_and_a_refusal_is_not_judged() -> None:
    a = _answer("user", "dbhm000000000001", {"query": "", "user": "user_user"})
    b = _answer("manager", "dbhm000000000002", {"error": "busy"}, status=503)
    verdict = judge([a, b], SLOTS, USERS)
    assert verdict.crossed == 1 and verdict.problems[0]["problem"] == "query lost its own marker"
    assert verdict.not_judged == {"HTTP 503": 1}


def test_markers_go_where_the_route_takes_input() -> None:
    doc = {"paths": {"/ext/x/items/{name}": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {
            "type": "object", "required": ["title", "tags", "count"],
            "properties": {"title": {"type": "string"}, "homepage": {"type": "string"},
                           "tags": {"type": "array", "minItems": 1,
                                    "items": {"enum": ["a", "b"]}},
                           "count": {"type": "integer"},
                           "code": {"type": "string", "pattern": "^[A-Z]+$"}}}}}}}}}}
    [template] = templates([Route("/ext/x/items/{name}", ("POST",), auth=True)], doc)
    assert template.roles == ("user", "manager", "admin", "outsider")
    path, body = template.request("dbhm00000000000a")
    assert path.startswith("/ext/x/items/dbhm00000000000a?")
    assert json.loads(body or b"") == {"title": "dbhm00000000000a", "homepage": "dbhm00000000000a",
                                       "tags": ["a"], "count": 1}


# -- end to end ---------------------------------------------------------------------------
def _certify(root: Path, out: Path) -> dict[str, Any]:
    outcome = certify(CertifyOptions(path=root, out=out, profile="quick", only=["IS-13"],
                                     seed=11))
    [result] = [r for r in outcome.report["results"] if r["check"] == "IS-13"]
    result["figures"] = outcome.report["figures"]
    return result


def _variant(tmp_path: Path, extension_py: str) -> Path:
    root = tmp_path / "variant"
    shutil.copytree(ROGUE, root)
    (root / "rogue_request_context" / "extension.py").write_text(textwrap.dedent(extension_py))
    return root


HEADER = '''
    from __future__ import annotations

    from dufflebag_harness.sdk import (
        Extension, JSONResponse, Metadata, Request, Response, Router, Services, current_user,
    )

    from rogue_request_context._context import RequestContext

    DOC = {"parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}]}


    class Rogue(Extension):
        metadata = Metadata(
            name="request_context", version="1.0.0", description="Personal search notes",
            author="t", license="MIT", homepage="https://example.org/x", host_api=">=1.0,<2",
        )

        async def initialize(self, services: Services) -> None:
            self.services = services
'''

PER_REQUEST = HEADER + '''
        def register_routes(self, router: Router) -> None:
            router.get("/search", self.search, auth=True, openapi=DOC)

        async def search(self, request: Request) -> Response:
            context = RequestContext()
            context.bind(request)
            rows = await self.services.database.fetch_all("SELECT 1 AS hit")
            return JSONResponse(context.answer(len(rows)))
'''

SHARED_LIST = HEADER + '''
        notes: list[dict[str, str]] = []

        def register_routes(self, router: Router) -> None:
            router.get("/notes", self.add, auth=True, openapi=DOC)

        async def add(self, request: Request) -> Response:
            user = current_user(request)
            name = user.username if user else ""
            self.notes.append({"by": name, "q": request.query_params.get("q", "")})
            await self.services.database.fetch_all("SELECT 1 AS hit")
            return JSONResponse({"caller": name, "notes": list(self.notes[-50:])})
'''


def test_the_rogue_keeping_the_request_on_the_extension_fails(tmp_path: Path) -> None:
    result = _certify(ROGUE, tmp_path / "out")
    assert result["status"] == "fail", result
    problems = {p["problem"] for p in result["evidence"]["problems"]}
    assert problems & {"query carries another request's marker", "user names the user user",
                       "user names the manager user", "user names the admin user",
                       "user names the outsider user"}, problems


@pytest.mark.parametrize("source", [PER_REQUEST, SHARED_LIST], ids=["per-request", "listing"])
def test_answers_kept_per_request_pass(tmp_path: Path, source: str) -> None:
    result = _certify(_variant(tmp_path, source), tmp_path / "out")
    assert result["status"] == "pass", result
    echoed = result["figures"]["cross_user_templates"]["echoed"]
    assert any("caller at" in e for found in echoed.values() for e in found), echoed
    sent = result["figures"]["cross_user_isolation"]
    assert sent["judged"] == sent["requests"] >= 64, result["figures"]
