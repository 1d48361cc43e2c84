"""Helpers of AU-06 and AU-07: create resources the way a client would, and find secrets.

A harness that sends ``{}`` to every POST learns little: the handler refuses the
body with a 422 before it changes anything, so a route open to anonymous writes
looks closed and a create-once secret is never made. These helpers build a body
the route's own OpenAPI description admits (its example, else the simplest value
of each required field; URLs point at a loopback port nobody listens on), send it,
and keep what came back: ids to fill the path parameters of the routes that act
on one resource, and values that look secret (by their key's name, or by looking
random) to search every later answer for.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dufflebag_harness.conformance._routes import BODY_METHODS, Call, Route
from dufflebag_harness.conformance._types import HostHandle

__all__ = [
    "MAX_IDS",
    "PROBE_URL",
    "SECRET_KEY",
    "Created",
    "Exercise",
    "bodies",
    "body_schemas",
    "distinctive",
    "encodings",
    "found_in",
    "ids_in",
    "paths",
    "plausible",
    "secret_values",
    "without_converters",
]

#: A key whose value is a credential whatever it looks like.
SECRET_KEY = re.compile(r"secret|token|passw|api[_-]?key|private[_-]?key|signing[_-]?key|"
                        r"access[_-]?key|credential", re.IGNORECASE)
#: Keys whose values are identifiers, names or digests, shown again by design, even when
#: they look random or their key names a secret (``secret_name``, ``token_id``).
_NOT_SECRET = re.compile(r"(^|_)(id|ids|uuid|digest|hash|checksum|etag|url|uri|href|path|"
                         r"name|version|at|date|time)$", re.IGNORECASE)
#: Keys whose values fill path parameters of the routes acting on one resource.
_ID_KEY = re.compile(r"(^|_)id$", re.IGNORECASE)
#: Shortest value searched for: shorter ones turn up by chance.
MIN_SECRET = 8
#: A random-looking value: at least this long, with at least this many bits per character.
_RANDOM_LENGTH, _RANDOM_BITS = 20, 3.3
#: Most ids kept to fill path parameters (each adds requests to every such route).
MAX_IDS = 8
#: A value this long is also searched for in parts: any run of :data:`PART` characters.
_WHOLE, PART = 24, 16
_LABEL = re.compile(r"^dbh-[a-z]+-")
#: Where a generated URL points: loopback, a port no service listens on.
PROBE_URL = "http://127.0.0.1:9/dbh-probe"
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def distinctive(label: str = "secret") -> str:
    """A value that cannot occur by chance, to plant and search for."""
    return f"dbh-{label}-{secrets.token_hex(12)}"


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _random_looking(text: str) -> bool:
    return (len(text) >= _RANDOM_LENGTH and not any(c.isspace() for c in text)
            and "://" not in text and _entropy(text) >= _RANDOM_BITS)


def secret_values(body: Any, *, key: str = "", where: str = "$") -> Iterator[tuple[str, str]]:
    """``(json path, value)`` of each secret-looking string in a JSON answer: values under a
    key named like a credential, and random-looking values — unless the key names an id, a
    name, a digest or a place (``id``, ``secret_name``, ``url``)."""
    if isinstance(body, Mapping):
        for k, v in body.items():
            yield from secret_values(v, key=str(k), where=f"{where}.{k}")
    elif isinstance(body, list):
        for i, v in enumerate(body):
            yield from secret_values(v, key=key, where=f"{where}[{i}]")
    elif (isinstance(body, str) and len(body) >= MIN_SECRET and not _NOT_SECRET.search(key)
          and (SECRET_KEY.search(key) or _random_looking(body))):
        yield where, body


def ids_in(body: Any) -> Iterator[str]:
    """Values under ``id``/``*_id`` keys, at any depth."""
    if isinstance(body, Mapping):
        for k, v in body.items():
            if _ID_KEY.search(str(k)) and isinstance(v, str | int) and not isinstance(v, bool):
                yield str(v)
            else:
                yield from ids_in(v)
    elif isinstance(body, list):
        for v in body:
            yield from ids_in(v)


def encodings(value: str) -> dict[str, str]:
    """The forms a value can be handed back in and still be read: as is, base64 (standard
    and URL-safe, unpadded) and hex of its bytes."""
    raw = value.encode("utf-8")
    return {"verbatim": value,
            "base64": base64.b64encode(raw).decode().rstrip("="),
            "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            "hex": raw.hex()}


def _parts(value: str) -> list[str]:
    """Runs of :data:`PART` characters of a long value (its ``dbh-…-`` label left out): a
    secret cut short, or shown but for its first characters, is still handed back."""
    core = _LABEL.sub("", value)
    if len(value) < _WHOLE or len(core) <= PART:
        return []
    return [core[i:i + PART] for i in range(len(core) - PART + 1)]


def found_in(response: httpx.Response, value: str) -> str | None:
    """Where ``value`` (in any of its :func:`encodings`, or a long part of it) shows in
    ``response``: ``"body"`` or ``"header <name>"``, with the form; ``None`` if nowhere."""
    places = [("body", response.text),
              *((f"header {name}", header) for name, header in response.headers.items())]
    forms = [*encodings(value).items(), *(("part", p) for p in _parts(value))]
    for form, text in forms:
        for place, seen in places:
            if text in seen:
                return f"{place} ({form})"
    return None


# -- bodies ---------------------------------------------------------------------------
def _type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        kind = "object"
    return kind if isinstance(kind, str) else None


def _string(schema: Mapping[str, Any], name: str) -> str:
    fmt = str(schema.get("format", ""))
    lname = name.lower()
    if fmt in ("uri", "url", "iri") or lname.endswith(("url", "uri", "href")):
        text = PROBE_URL
    elif fmt == "email" or lname.endswith("email"):
        text = "probe@example.org"
    elif fmt == "password" or SECRET_KEY.search(name):
        text = distinctive("input")
    elif lname.endswith(("path", "prefix")):
        text = "/"
    else:
        text = "dbh-probe"
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, text):
        text = _from_regex(pattern) or text
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text + "x" * max(0, low - len(text))
    return text[:int(high)] if isinstance(high, int) else text


def _from_regex(pattern: str) -> str | None:
    """The simplest string matching ``pattern`` (Hypothesis' shrinker finds it)."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    try:
        return find(st.from_regex(pattern, fullmatch=True), lambda _: True,
                    settings=settings(database=None, max_examples=50,
                                      suppress_health_check=list(HealthCheck)))
    except (HypothesisException, re.error):
        return None


def plausible(schema: Any, name: str = "", depth: int = 0) -> Any:
    """The simplest instance of ``schema`` a real client would send: its example, else
    every required property with a plausible value (see the module docstring)."""
    if not isinstance(schema, Mapping) or depth > 8:
        return None
    for key in ("example", "const", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("allOf", "anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return plausible(options[0], name, depth + 1)
    kind = _type(schema)
    if kind == "object":
        props = schema.get("properties") or {}
        required = [k for k in schema.get("required") or () if isinstance(k, str)]
        return {k: plausible(props.get(k, {}), k, depth + 1) for k in required}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        item = plausible(schema.get("items") or {}, name, depth + 1)
        return [item] * (1 if schema.get("uniqueItems") else count)
    if kind == "string":
        return _string(schema, name)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(1, low + 1 if "exclusiveMinimum" in schema else low)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    return None


def without_converters(path: str) -> str:
    """A path template with converters dropped, as the host's OpenAPI document writes it."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def body_schemas(doc: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """``(METHOD, path template) -> JSON request-body schema`` from the host's document."""
    out: dict[tuple[str, str], Any] = {}
    for path, item in (doc.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if not isinstance(op, Mapping):
                continue
            content = ((op.get("requestBody") or {}).get("content") or {})
            media = content.get("application/json") or {}
            if isinstance(media, Mapping) and "schema" in media:
                example = media.get("example")
                schema = media["schema"] if example is None else {"example": example}
                out[(method.upper(), without_converters(path))] = schema
    return out


def bodies(route: Route, method: str, schemas: Mapping[tuple[str, str], Any]) -> list[Any]:
    """Bodies to try on ``method`` of ``route``: the plausible one first, then ``{}``."""
    if method not in BODY_METHODS:
        return [None]
    schema = schemas.get((method, without_converters(route.template)))
    first = plausible(schema) if schema is not None else None
    return [first, {}] if isinstance(first, dict) and first else [{}]


def paths(route: Route, ids: Iterable[str]) -> list[str]:
    """``route``'s concrete path, then the path with each id known (one parameter)."""
    out = [route.path]
    if len(_PARAM.findall(route.template)) == 1:
        out += [_PARAM.sub(value, route.template) for value in ids
                if re.fullmatch(r"[A-Za-z0-9_.~-]{1,128}", value)]
    return list(dict.fromkeys(out))


# -- resources ------------------------------------------------------------------------
@dataclass
class Created:
    """One successful creation: who made it, and what came back once."""

    request: str
    role: str | None
    status: int
    secrets: list[tuple[str, str]]


@dataclass
class Exercise:
    """Resources created through every POST route of an extension, as each route's caller."""

    created: list[Created] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @classmethod
    def run(cls, host: HostHandle, routes: Iterable[Route],
            schemas: Mapping[tuple[str, str], Any]) -> Exercise:
        """POST to every route registered for it (as the role ``_routes`` picks; anonymous on
        an open one) with :func:`bodies`, keeping what 2xx answers return."""
        out = cls()
        for route in routes:
            if "POST" not in route.methods or not route.admitted:
                continue
            for path in paths(route, out.ids):
                out._create(host, route, path, schemas)
        return out

    def _create(self, host: HostHandle, route: Route, path: str,
                schemas: Mapping[tuple[str, str], Any]) -> None:
        for body in bodies(route, "POST", schemas):
            call = Call("POST", path, route.role, json=body)
            r = call.send(host)
            if not 200 <= r.status_code < 300:
                continue
            answer = _json(r)
            sent = [(f"request {w}", v) for w, v in secret_values(body)]
            self.created.append(Created(call.label, call.role, r.status_code,
                                        [*secret_values(answer), *sent]))
            self.ids = list(dict.fromkeys([*self.ids, *ids_in(answer)]))[:MAX_IDS]
            return


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
