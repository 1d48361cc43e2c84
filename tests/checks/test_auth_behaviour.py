"""AU checks judge behaviour, not the recipe: a deleted user is refused wherever an anonymous
caller is, state-changing routes are public only by declaration, secrets are never handed
back, and AU-05 counts the methods a route is registered with.

Rogues show each check failing for one realistic bug; these tests pin the variants a
rogue cannot (the fix passes, the declaration is matched by method and path) and the
helpers that build requests and recognise secrets.
"""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from dufflebag_harness.conformance._auth_exercise import (
    PROBE_URL,
    bodies,
    body_schemas,
    found_in,
    paths,
    plausible,
    secret_values,
)
from dufflebag_harness.conformance._routes import Route
from dufflebag_harness.outside.runner import CertifyOptions, certify
from dufflebag_harness.reports import validate

ROOT = Path(__file__).resolve().parents[2]
AU = ["LC-01", "AU-01", "AU-02", "AU-03", "AU-04", "AU-05", "AU-06", "AU-07"]

HEADER = """
import itertools
from dufflebag_harness.sdk import (Extension, JSONResponse, Metadata, Response, RouteError,
                                   current_user)


class Base(Extension):
    metadata = Metadata(name="NAME", version="1.0.0", description="d", author="a",
                        license="MIT", homepage="https://example.org", host_api=">=1.0,<2")

    def _audit(self, request, action):
        user = current_user(request)
        self.services.audit.record(user.id if user else None, action, {})
"""


def _extension(tmp_path: Path, name: str, body: str, manifest_extra: str = "") -> Path:
    root = tmp_path / name
    (root / f"{name}_pkg").mkdir(parents=True)
    code = HEADER + textwrap.dedent(body)
    (root / f"{name}_pkg" / "__init__.py").write_text(code.replace("NAME", name))
    (root / "extension.toml").write_text(textwrap.dedent(f'''
        [extension]
        name = "{name}"
        version = "1.0.0"
        entry = "{name}_pkg:Ext"
        description = "d"
        author = "a"
        license = "MIT"
        homepage = "https://example.org"
        host_api = ">=1.0,<2"
    ''') + textwrap.dedent(manifest_extra))
    return root


def _certify(path: Path, out: Path, only: list[str]) -> dict[str, Any]:
    outcome = certify(CertifyOptions(path=path, out=out, profile="quick", only=only, seed=7))
    return outcome.report


def _results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The verdicts that ran; the extension loaded (LC-01 passed), or none would mean much."""
    ran = {r["check"]: r for r in report["results"] if r["status"] != "skipped"}
    assert ran["LC-01"]["status"] == "pass", ran["LC-01"]["reason"]
    return ran


# -- AU-02: the deleted user, on every route ---------------------------------------------

HANDLER_ROLE_CHECK = """
allowed = ALLOWED


class Ext(Base):
    def register_routes(self, router):
        router.get("/report", self.report)  # open: the handler checks the role

    async def report(self, request):
        user = current_user(request)
        if user is None:
            return JSONResponse({"error": "sign in"}, 401)
        if not allowed(user):
            return JSONResponse({"error": "admins only"}, 403)
        return JSONResponse({"rows": [1, 2, 3]})
"""


@pytest.mark.parametrize(("allowed", "verdict"), [
    ('lambda user: "admin" in user.roles', "fail"),  # the deleted user still holds admin
    ('lambda user: user.has_role("admin")', "pass"),  # has_role is false for a deleted user
])
def test_a_handler_role_check_must_refuse_the_deleted_user(tmp_path: Path, allowed: str,
                                                           verdict: str) -> None:
    root = _extension(tmp_path, "handler_roles", HANDLER_ROLE_CHECK.replace("ALLOWED", allowed))
    results = _results(_certify(root, tmp_path / "out", AU))
    assert results["AU-02"]["status"] == verdict, results["AU-02"]["reason"]
    if verdict == "fail":
        assert "GET /ext/handler_roles/report as deleted → 200" in results["AU-02"]["reason"]
    assert {k for k, r in results.items() if r["status"] == "fail"} <= {"AU-02"}


# -- AU-05: counted over the methods routes are registered with ---------------------------

READ_ONLY_ROUTES = """
class Ext(Base):
    def __init__(self):
        self.ids = itertools.count(1)

    def register_routes(self, router):
        router.add("/report", self.anything)  # no methods=: GET only
        try:
            router.add("/any", self.anything, methods=None)  # "any method" is refused
        except RouteError:
            pass
        router.add("/notes", self.create, methods=("POST",), auth=True)

    async def anything(self, request):  # would answer POST, PUT and DELETE alike
        return JSONResponse({"method": request.method})

    async def create(self, request):
        self._audit(request, "NAME.created")
        return JSONResponse({"id": next(self.ids)}, 201)
"""


def test_au05_counts_only_registered_state_changing_methods(tmp_path: Path) -> None:
    root = _extension(tmp_path, "read_only", READ_ONLY_ROUTES)
    report = _certify(root, tmp_path / "out", ["LC-01", "AU-05"])
    assert _results(report)["AU-05"]["status"] == "pass"
    assert report["figures"]["audited_actions"] == 1  # POST /notes, nothing else


# -- AU-06: public only by declaration ------------------------------------------------------

OPEN_WRITES = """
class Ext(Base):
    def __init__(self):
        self.items = {}
        self.ids = itertools.count(1)

    def register_routes(self, router):
        router.post("/items", self.create, openapi=DOC)
        router.put("/items/{item_id:int}", self.replace, auth=True)
        router.delete("/items/{item_id:int}", self.remove)

    async def create(self, request):
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("title"), str):
            return JSONResponse({"error": "$.title: required"}, 422)  # {} is refused
        item_id = next(self.ids)
        self.items[item_id] = body["title"]
        self._audit(request, "NAME.created")
        return JSONResponse({"id": item_id}, 201)

    async def replace(self, request):
        self._audit(request, "NAME.replaced")
        return JSONResponse({"ok": True})

    async def remove(self, request):
        if self.items.pop(request.path_params["item_id"], None) is None:
            return JSONResponse({"error": "no such item"}, 404)  # only a real id shows it
        self._audit(request, "NAME.removed")
        return Response(status_code=204)


DOC = {"requestBody": {"content": {"application/json": {"schema": {
    "type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}}}}}
"""


@pytest.mark.parametrize(("declared", "verdict"), [
    ("", "fail"),
    ('[[public_routes]]\nmethod = "PUT"\npath = "/items"\nreason = "another route"\n', "fail"),
    ('[[public_routes]]\nmethod = "POST"\npath = "/items"\nreason = "guests add items"\n',
     "fail"),  # the DELETE is still undeclared
    ('[[public_routes]]\nmethod = "POST"\npath = "/items"\nreason = "guests add items"\n'
     '[[public_routes]]\nmethod = "DELETE"\npath = "/items/{item_id}"\nreason = "and remove"\n',
     "pass"),  # a converter (:int) is no part of the match
])
def test_anonymous_writes_need_a_declaration_of_that_method_and_path(
        tmp_path: Path, declared: str, verdict: str) -> None:
    root = _extension(tmp_path, "open_items", OPEN_WRITES, declared)
    report = _certify(root, tmp_path / "out", ["LC-01", "AU-06"])
    result = _results(report)["AU-06"]
    assert result["status"] == verdict, result["reason"]
    requests = {r["request"] for r in result["evidence"].get("requests", [])}
    if verdict == "fail" and "POST" not in declared:  # though it refuses the bare {} (422)
        assert "POST /ext/open_items/items → 201" in result["reason"]
        assert requests == {"POST /ext/open_items/items", "DELETE /ext/open_items/items/1"}
    elif verdict == "fail":  # the item it created first exists: DELETE answers 204, not 404
        assert requests == {"DELETE /ext/open_items/items/1"}
    else:  # declared routes and reasons are in the signed report, which stays valid
        validate(report)
        assert [r["method"] for r in report["extension"]["public_routes"]] == ["POST", "DELETE"]
        assert report["extension"]["public_routes"][0] == {
            "method": "POST", "path": "/items", "reason": "guests add items"}


# -- AU-07: secrets never come back -----------------------------------------------------------

SECRET_SETTING = """
shown = SHOWN


class Ext(Base):
    config_schema = {"type": "object", "additionalProperties": False, "properties": {
        "password": {"type": "string", "format": "password"},
        "signing": {"type": "string", "writeOnly": True, "minLength": 16}}}
    default_config = {"password": "", "signing": "0123456789abcdef"}

    def apply_config(self, config):
        self.config = dict(config)

    def register_routes(self, router):
        router.get("/settings", self.settings, roles=("admin",))

    async def settings(self, request):
        return JSONResponse(shown(self.config))
"""


@pytest.mark.parametrize(("shown", "verdict"), [
    ("lambda c: {'signing': c['signing'][:4] + '…'}", "pass"),  # a hint is fine
    ("lambda c: {'has_password': bool(c['password']), 'signing': c['signing']}", "fail"),
    ("lambda c: {'debug': __import__('base64').b64encode(c['password'].encode()).decode()}",
     "fail"),
])
def test_secret_settings_never_come_back(tmp_path: Path, shown: str, verdict: str) -> None:
    root = _extension(tmp_path, "secret_settings", SECRET_SETTING.replace("SHOWN", shown))
    result = _results(_certify(root, tmp_path / "out", ["LC-01", "AU-07"]))["AU-07"]
    assert result["status"] == verdict, result["reason"]


ENABLE_LEAK = """
import secrets


class Ext(Base):
    def __init__(self):
        self.rows = {}
        self.ids = itertools.count(1)

    def register_routes(self, router):
        router.post("/tokens", self.create, roles=("admin",))
        router.get("/tokens", self.list_all, roles=("admin",))
        router.post("/tokens/{token_id:int}/enable", self.enable, roles=("admin",))

    async def create(self, request):
        row = {"id": next(self.ids), "token": secrets.token_urlsafe(32), "active": False}
        self.rows[row["id"]] = row
        self._audit(request, "NAME.created")
        return JSONResponse(row, 201)  # shown once: fine

    async def list_all(self, request):
        return JSONResponse([{k: v for k, v in r.items() if k != "token"}
                             for r in self.rows.values()])

    async def enable(self, request):
        row = self.rows.get(request.path_params["token_id"])
        if row is None:
            return JSONResponse({"error": "no such token"}, 404)
        row["active"] = True
        self._audit(request, "NAME.enabled")
        return JSONResponse(LATER(row))
"""


@pytest.mark.parametrize(("later", "verdict"), [
    ("{k: v for k, v in row.items() if k != 'token'}", "pass"),
    ("row", "fail"),  # the whole row again, token included, in a later answer
])
def test_a_create_once_secret_stays_out_of_later_answers(tmp_path: Path, later: str,
                                                        verdict: str) -> None:
    root = _extension(tmp_path, "enable_leak", ENABLE_LEAK.replace("LATER(row)", later))
    result = _results(_certify(root, tmp_path / "out", ["LC-01", "AU-07"]))["AU-07"]
    assert result["status"] == verdict, result["reason"]
    if verdict == "fail":
        assert result["reason"].startswith("1 answer(s) handed back a secret (e.g. the $.token "
                                           "of POST /ext/enable_leak/tokens in the body")
        assert "POST /ext/enable_leak/tokens/1/enable as admin" in result["reason"]


# -- the samples ------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", ["analytics", "webhooks"])
def test_samples_pass_every_au_check(tmp_path: Path, sample: str) -> None:
    report = _certify(ROOT / "sample_extensions" / sample, tmp_path / "out", AU)
    results = _results(report)
    assert {k: r["reason"] for k, r in results.items() if r["status"] != "pass"} == {}
    assert set(results) == set(AU)
    if sample == "webhooks":  # it created a subscription, and watched its signing secret
        assert report["figures"]["watched_secrets"] >= 1
        assert report["figures"]["audited_actions"] == 4


# -- helpers ----------------------------------------------------------------------------------

def test_secret_values_by_key_name_and_by_randomness() -> None:
    answer = {"id": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "url": "https://example.org/a/b/c/d",
              "secret": "short-ok", "nested": {"api_key": "k-123456789"},
              "blob": "Zx8Qp2Lm9Rt4Vw7Yb1Nc6Hd3Jf5Gk0", "title": "a very long plain title",
              "secret_name": "production-database", "token_id": "tok_0123456789",
              "key": "notifications.email"}
    assert dict(secret_values(answer)) == {"$.secret": "short-ok",
                                           "$.nested.api_key": "k-123456789",
                                           "$.blob": "Zx8Qp2Lm9Rt4Vw7Yb1Nc6Hd3Jf5Gk0"}


def test_found_in_reads_bodies_and_headers_in_any_encoding() -> None:
    value = "dbh-secret-0123456789"
    hexed = httpx.Response(200, text=f"token={value.encode().hex()}")
    assert found_in(hexed, value) == "body (hex)"
    header = httpx.Response(200, headers={"X-Debug": base64.b64encode(value.encode()).decode()})
    assert found_in(header, value) == "header x-debug (base64)"
    assert found_in(httpx.Response(200, text="nothing here"), value) is None


def test_found_in_sees_a_long_secret_cut_short_but_not_a_hint() -> None:
    secret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert found_in(httpx.Response(200, json={"secret": secret[:20] + "…"}), secret) \
        == "body (part)"
    assert found_in(httpx.Response(200, json={"hint": "…" + secret[-4:]}), secret) is None
    planted = "dbh-secret-00000000000000000000000000000001"  # the label alone is no part
    assert found_in(httpx.Response(200, text="dbh-secret-0000000000000"), planted) is None


def test_plausible_bodies_follow_the_documented_schema() -> None:
    schema = {"type": "object", "required": ["url", "events", "code", "count"],
              "properties": {"url": {"type": "string", "maxLength": 2048},
                             "events": {"type": "array", "uniqueItems": True,
                                        "items": {"enum": ["a", "b"]}},
                             "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
                             "count": {"type": "integer", "minimum": 5},
                             "optional": {"type": "string"}}}
    body = plausible(schema)
    assert body == {"url": PROBE_URL, "events": ["a"], "code": body["code"], "count": 5}
    assert len(body["code"]) == 6 and body["code"][3] == "-"
    assert plausible({"type": "object", "example": {"x": 1}}) == {"x": 1}


def test_bodies_and_paths_for_a_route() -> None:
    doc = {"paths": {"/ext/x/items/{item_id}": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {"type": "object", "required": ["n"],
                                        "properties": {"n": {"type": "integer"}}}}}}}}}}
    route = Route("/ext/x/items/{item_id:int}", ("POST", "DELETE"))
    schemas = body_schemas(doc)
    assert bodies(route, "POST", schemas) == [{"n": 1}, {}]
    assert bodies(route, "DELETE", schemas) == [None]
    assert paths(route, ["7", "../etc"]) == ["/ext/x/items/1", "/ext/x/items/7"]
