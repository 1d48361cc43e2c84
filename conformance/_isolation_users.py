"""IS-13's traffic: one extension, many users, many requests in flight at once.

Every request carries a marker of its own (a fresh token) wherever the route
takes input — string path parameters, query parameters (those its OpenAPI
operation declares, else a few common names), the string fields of its JSON
body (from the operation's schema, else a few common names) — and is sent as
one of the seeded users the route admits, so each answer can be matched to
the request and the user it belongs to.

What an answer must carry is learned first, one request at a time: each
request template is sent twice alone, with different markers and (where the
route admits more than one seeded user) as different users. A place in the
JSON answer (a path of object keys; list positions are skipped, since a listing
legitimately reorders under concurrent writes) that held the request's own
marker both times is a *marker slot*; one that held the caller's username or
id both times, as two different users, is an *identity slot*. Non-JSON answers
that contained the request's own marker both times are judged as text.

Then the requests are sent concurrently, in waves released together by a
barrier so that many are in flight at once, users and routes mixed. An answer
is *crossed* when a slot holds another request's marker or another user's
identity, and has *lost* its own when a slot holds neither (the answer was
built from someone else's state). Answers with another status than alone
(a 429 or 503 of the host's limits, a 5xx, which CC-01 judges) are counted,
not judged.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from dufflebag_harness.conformance._perf_client import TimedClient
from dufflebag_harness.conformance._routes import BODY_METHODS, Route, concrete
from dufflebag_harness.conformance._types import HostHandle

__all__ = ["Answer", "Judged", "Slots", "Template", "judge", "learn", "marker", "mixed",
           "run_waves", "templates"]

#: Seeded users a route may admit (``deleted`` never is).
USERS = ("user", "manager", "admin", "outsider")
#: Query parameters sent when the route's operation declares none.
COMMON_QUERY = ("q", "name", "text", "message", "value")
#: Body fields sent when the route's operation has no JSON schema.
COMMON_BODY = ("name", "text", "message", "value", "title")
_PARAM = re.compile(r"\{([^}:]+)(?::([^}]*))?\}")
_MARKER = re.compile(r"dbhm[0-9a-f]{12}")
#: Problems kept as evidence (the count is always reported; a report keeps 4 KiB of it).
MAX_PROBLEMS = 6


def marker() -> str:
    """A fresh request marker: short, URL-safe, unlikely anywhere else."""
    return "dbhm" + secrets.token_hex(6)


@dataclass(frozen=True)
class Template:
    """One route and method, and where a request to it carries its marker."""

    method: str
    template: str
    roles: tuple[str, ...]
    query: tuple[str, ...]
    body: Mapping[str, Any] | None = field(default=None, hash=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    def request(self, mark: str) -> tuple[str, bytes | None]:
        """Path (with query) and JSON body of one request carrying ``mark``."""
        def fill(m: re.Match[str]) -> str:
            return quote(mark, safe="") if (m.group(2) or "str") in ("str", "path") \
                else concrete(m.group(0))
        path = _PARAM.sub(fill, self.template)
        if self.query:
            path += "?" + urlencode({name: mark for name in self.query})
        if self.method not in BODY_METHODS:
            return path, None
        return path, json.dumps(_marked(self.body or {}, mark)).encode()


def _marked(value: Any, mark: str) -> Any:
    if value is _SLOT:
        return mark
    if isinstance(value, _Formatted):
        return value.template.format(mark)
    if isinstance(value, dict):
        return {k: _marked(v, mark) for k, v in value.items()}
    return value


#: Where a body carries the marker (replaced by the request's own).
_SLOT = object()


class _Formatted:
    """A string format that can carry a marker: ``template`` with ``{}`` for it."""

    def __init__(self, template: str) -> None:
        self.template = template


#: Plain string fields whose name says what they hold.
_NAMED = {"url": _Formatted("https://example.org/{}"), "uri": _Formatted("https://example.org/{}"),
          "email": _Formatted("{}@example.org")}
_FORMATS = {"uri": _Formatted("https://example.org/{}"), "url": _Formatted("https://example.org/{}"),
            "email": _Formatted("{}@example.org"), "hostname": _Formatted("{}.example.org")}


def _body_from_schema(schema: Any, depth: int = 0) -> Any:
    """A JSON value the schema accepts, with every plain string property a marker slot."""
    if not isinstance(schema, Mapping) or depth > 3:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        out = {}
        for name, sub in props.items():
            value = _body_from_schema(sub, depth + 1)
            if value is _SLOT and str(name).lower() in _NAMED:
                value = _NAMED[str(name).lower()]
            if value is not None or name in required:
                out[str(name)] = value
        return out
    if kind == "string":
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt]
        if fmt or schema.get("pattern"):
            return None  # a marker would not fit: left out unless required
        return _SLOT
    if kind == "array":
        item = _body_from_schema(schema.get("items"), depth + 1)
        return [item] if schema.get("minItems") and item is not None else []
    return {"integer": 1, "number": 1, "boolean": True}.get(str(kind))


def _operation(doc: Mapping[str, Any], route: Route, method: str) -> Mapping[str, Any]:
    bare = _PARAM.sub(lambda m: "{" + m.group(1) + "}", route.template)
    item = (doc.get("paths") or {}).get(bare) or {}
    op = item.get(method.lower()) if isinstance(item, Mapping) else None
    return op if isinstance(op, Mapping) else {}


def _query_names(op: Mapping[str, Any]) -> tuple[str, ...]:
    params = [p for p in op.get("parameters") or () if isinstance(p, Mapping)
              and p.get("in") == "query"]
    if not params:
        return COMMON_QUERY
    return tuple(str(p["name"]) for p in params
                 if (p.get("schema") or {}).get("type", "string") == "string"
                 and not (p.get("schema") or {}).get("enum"))


def _body(op: Mapping[str, Any]) -> dict[str, Any]:
    content = ((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
    built = _body_from_schema(content.get("schema"))
    if isinstance(built, dict) and built:
        return built
    return {name: _SLOT for name in COMMON_BODY}


def templates(routes: Sequence[Route], doc: Mapping[str, Any]) -> list[Template]:
    """A template per registered method of each route some seeded user is admitted to."""
    out = []
    for route in routes:
        roles = tuple(r for r in USERS if route.admits(r))
        if not roles:
            continue
        for method in route.methods:
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            op = _operation(doc, route, method)
            out.append(Template(method, route.template, roles, _query_names(op),
                                _body(op) if method in BODY_METHODS else None))
    return out


@dataclass(frozen=True)
class Answer:
    """One request and what came back."""

    template: Template
    role: str
    mark: str
    status: int
    body: bytes


def send(client: TimedClient, template: Template, role: str, mark: str) -> Answer:
    path, body = template.request(mark)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    status, _, data, _ = client.send(template.method, path, role, headers, body)
    return Answer(template, role, mark, status, data)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Scalar values at object-key paths (lists are not entered)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, (*path, str(key)))
    elif not isinstance(value, list):
        yield path, value


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


_MISSING = object()


@dataclass(frozen=True)
class Slots:
    """What a template's answer carries of its request, learned alone."""

    status: int
    markers: tuple[tuple[str, ...], ...] = ()
    identities: tuple[tuple[str, ...], ...] = ()
    text: bool = False

    @property
    def any(self) -> bool:
        return bool(self.markers or self.identities or self.text)


def _identity(users: Mapping[str, Mapping[str, Any]], role: str) -> tuple[Any, Any]:
    user = users.get(role) or {}
    return user.get("username"), user.get("id")


def learn(host: HostHandle, template: Template,
          users: Mapping[str, Mapping[str, Any]]) -> tuple[Slots, list[Answer]]:
    """Send ``template`` alone twice (two markers; two users when it admits two) and
    find the places its answer echoes the request and the caller."""
    role_a, role_b = template.roles[0], template.roles[1 % len(template.roles)]
    client = TimedClient(host)
    try:
        a = send(client, template, role_a, marker())
        b = send(client, template, role_b, marker())
    finally:
        client.close()
    if a.status != b.status or a.status >= 500:
        return Slots(status=-1), [a, b]
    ja, jb = _json(a.body), _json(b.body)
    if ja is None or jb is None:
        text = a.mark.encode() in a.body and b.mark.encode() in b.body
        return Slots(a.status, text=text), [a, b]
    markers = tuple(p for p, v in _leaves(ja) if isinstance(v, str) and a.mark in v
                    and isinstance(_at(jb, p), str) and b.mark in _at(jb, p))
    identities: tuple[tuple[str, ...], ...] = ()
    if role_a != role_b:
        ids_a, ids_b = _identity(users, role_a), _identity(users, role_b)
        identities = tuple(p for p, v in _leaves(ja)
                           if v is not None and not isinstance(v, bool) and v in ids_a
                           and _at(jb, p) in ids_b
                           and ids_a.index(v) == ids_b.index(_at(jb, p))
                           and v != _at(jb, p))
    return Slots(a.status, markers, identities), [a, b]


@dataclass
class Judged:
    """The verdict over every concurrent answer."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    crossed: int = 0
    judged: int = 0
    not_judged: dict[str, int] = field(default_factory=dict)

    def add(self, answer: Answer, problem: str, **extra: Any) -> None:
        self.crossed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"request": answer.template.label, "as": answer.role,
                                  "marker": answer.mark, "problem": problem, **extra})


def _owner_of(text: str, mine: str, marks: Mapping[str, Answer]) -> Answer | None:
    for found in _MARKER.findall(text):
        if found != mine and found in marks:
            return marks[found]
    return None


def _whose(value: Any, users: Mapping[str, Mapping[str, Any]], role: str) -> str | None:
    """The other seeded user ``value`` names (username, or id), if any."""
    for other, user in users.items():
        if other != role and value is not None and value in (user.get("username"),
                                                             user.get("id")):
            return other
    return None


def judge(answers: Sequence[Answer], slots: Mapping[Template, Slots],
          users: Mapping[str, Mapping[str, Any]]) -> Judged:
    """Apply the module docstring's rule to every concurrent answer."""
    out = Judged()
    marks = {a.mark: a for a in answers}
    for answer in answers:
        learned = slots[answer.template]
        if answer.status != learned.status:
            key = f"HTTP {answer.status}"
            out.not_judged[key] = out.not_judged.get(key, 0) + 1
            continue
        out.judged += 1
        text = answer.body.decode("utf-8", "replace")
        if learned.text:
            if answer.mark not in text:
                other = _owner_of(text, answer.mark, marks)
                out.add(answer, "carries another request's marker" if other else
                        "lost its own marker", other=_said(other), body=text[:100])
            continue
        data = _json(answer.body)
        _judge_slots(out, answer, learned, data, marks, users, text)
    return out


def _said(answer: Answer | None) -> str | None:
    return None if answer is None else f"{answer.template.label} as {answer.role}"


def _judge_slots(out: Judged, answer: Answer, learned: Slots, data: Any,
                 marks: Mapping[str, Answer], users: Mapping[str, Mapping[str, Any]],
                 text: str) -> None:
    for path in learned.markers:
        value = _at(data, path)
        if isinstance(value, str) and answer.mark in value:
            continue
        other = _owner_of(value, answer.mark, marks) if isinstance(value, str) else None
        out.add(answer, f"{'/'.join(path)} carries another request's marker" if other
                else f"{'/'.join(path)} lost its own marker", other=_said(other),
                body=text[:100])
        return
    own = _identity(users, answer.role)
    for path in learned.identities:
        value = _at(data, path)
        if value is not _MISSING and value in own:
            continue
        other_user = _whose(value, users, answer.role) if value is not _MISSING else None
        out.add(answer, f"{'/'.join(path)} names the {other_user} user" if other_user
                else f"{'/'.join(path)} no longer names the caller", body=text[:100])
        return


def run_waves(host: HostHandle, plan: Sequence[tuple[Template, str]], threads: int,
              deadline_s: float) -> tuple[list[Answer], list[str]]:
    """Send ``plan`` (template, role) in waves of ``threads`` requests released together.

    Each thread keeps its own keep-alive connection; a barrier starts every request of a
    wave at the same moment, so they are in flight at once. Returns the answers and the
    errors (a connection that failed, a wave that did not finish by the deadline).
    """
    answers: list[Answer] = []
    errors: list[str] = []
    lock = threading.Lock()
    waves = [plan[i:i + threads] for i in range(0, len(plan), threads)]
    barrier = threading.Barrier(threads)
    stop_at = time.monotonic() + deadline_s

    def work(slot: int) -> None:
        client = TimedClient(host)
        try:
            for wave in waves:
                try:
                    barrier.wait(timeout=max(0.1, stop_at - time.monotonic()))
                except threading.BrokenBarrierError:
                    return
                if slot >= len(wave):
                    continue
                template, role = wave[slot]
                try:
                    got = send(client, template, role, marker())
                except OSError as exc:
                    with lock:
                        errors.append(f"{template.label}: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    answers.append(got)
        finally:
            client.close()

    pool = [threading.Thread(target=work, args=(i,), daemon=True, name=f"is13-{i}")
            for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(max(0.0, stop_at - time.monotonic()))
    if any(t.is_alive() for t in pool):
        barrier.abort()
        errors.append(f"requests were still waiting after {deadline_s:.0f} s (a hang?)")
    return answers, errors


def mixed(judgeable: Sequence[Template], rounds: int, seed: int, *, least: int = 0,
          most: int = 480) -> list[tuple[Template, str]]:
    """Every judgeable template ``rounds`` times per admitted user — more rounds when that
    makes fewer than ``least`` requests, fewer when more than ``most`` — shuffled (seeded)."""
    base = [(t, role) for t in judgeable for role in t.roles]
    if not base:
        return []
    rounds = max(rounds, -(-least // len(base)))
    plan = (base * rounds)[:max(most, len(base))]
    random.Random(seed).shuffle(plan)
    return plan
