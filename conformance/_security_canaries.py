"""SE-06: fake secrets planted in the worker, searched in everything that left it.

Every worker starts with fresh canaries (:attr:`WorkerClient.canaries`): credentials
in its environment and the usual credential files in its HOME, drawn anew per worker.
The parent keeps the values. This module drives an extension's routes — each method
as ``admin`` and anonymously, each ``GET`` again with undocumented query parameters,
since behaviour that changes only for ``?debug=1`` is a known way to hide — and
searches what the parent received (bodies and headers), what the worker wrote to its
stdout/stderr (read by the parent at the fd level) and the files left in the host's
storage folder for every value, plain and in simple encodings (base64 at any
alignment, hex, URL-quoted, reversed).

A value spanning lines (a key block) is searched line by line: each line of at least
:data:`MIN_PIECE` characters that is not a ``-----BEGIN``/``-----END`` marker. What
this module reports names a canary by its label, never its value; excerpts are masked
before they are cut, so no part of a value survives at their edges.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlencode

import httpx

from dufflebag_harness.conformance._probing import MGMT
from dufflebag_harness.conformance._routes import CALLABLE_METHODS, Call, Route, route_table
from dufflebag_harness.conformance._types import HostHandle

__all__ = [
    "UNDOCUMENTED",
    "Leak",
    "Needle",
    "Sent",
    "drive",
    "mask",
    "needles",
    "search",
]

#: Query parameters no extension documents, sent to every GET route one at a time and
#: all at once (plus one made-up name per run).
UNDOCUMENTED = (("debug", "1"), ("verbose", "true"), ("admin", "1"), ("raw", "1"),
                ("dump", "1"), ("env", "1"), ("internal", "1"), ("test", "1"))
#: The shortest piece of a value searched for (shorter ones could match by chance).
MIN_PIECE = 16
#: Per-request timeout while driving; a route that times out gets no more variants.
REQUEST_TIMEOUT_S = 15.0
#: A rate-limited answer (429) is retried after its Retry-After (at most this long, and
#: this often), so an extension cannot hide a route behind a low requests_per_second;
#: all waits of one drive together stay within the budget.
RETRY_WAIT_S = 2.0
RETRIES = 5
RETRY_BUDGET_S = 300.0
_HEX = re.compile(rb"[0-9a-fA-F]+")
_COMPACT = re.compile(rb"\s+|\\[nr]")


@dataclass(frozen=True)
class Needle:
    """One searchable form of a canary: ``encoding`` says which, ``fold`` that case does
    not matter (hex digits, percent escapes)."""

    label: str
    encoding: str
    data: bytes
    fold: bool = False


@dataclass(frozen=True)
class Leak:
    """A canary (by label) found in one place, in one encoding."""

    label: str
    where: str
    encoding: str


@dataclass
class Sent:
    """Everything the parent received, by where it came from (``GET /ext/x?debug=1 as
    admin``), and how the requests went."""

    received: dict[str, bytes] = field(default_factory=dict)
    statuses: dict[str, int | str] = field(default_factory=dict)
    waited_s: float = 0.0

    @property
    def rate_limited(self) -> list[str]:
        """Requests still refused with 429 after every retry (never searched)."""
        return [label for label, status in self.statuses.items() if status == 429]


def _pieces(value: str) -> list[bytes]:
    lines = [line.strip() for line in value.splitlines()] or [value]
    return [line.encode() for line in lines
            if len(line) >= MIN_PIECE and not line.startswith("-----")]


def _base64_cores(piece: bytes) -> set[bytes]:
    """What base64 of any text containing ``piece`` must contain, whatever its offset:
    for each of the three alignments, the characters that depend on ``piece`` alone."""
    cores = set()
    for shift in range(3):
        total = shift + len(piece)
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + piece)
            cores.add(encoded[(8 * shift + 5) // 6: (8 * total) // 6])
    return cores


def needles(canaries: Mapping[str, str]) -> list[Needle]:
    """Every form of every canary that is searched for."""
    out: list[Needle] = []
    for label, value in canaries.items():
        for piece in _pieces(value):
            text = piece.decode()
            out.append(Needle(label, "plain", piece, fold=bool(_HEX.fullmatch(piece))))
            out.append(Needle(label, "hex", piece.hex().encode(), fold=True))
            out.extend(Needle(label, "base64", core) for core in sorted(_base64_cores(piece)))
            for quoted in {quote(text, safe=""), quote_plus(text)} - {text}:
                out.append(Needle(label, "URL-quoted", quoted.encode(), fold=True))
            out.append(Needle(label, "reversed", piece[::-1]))
    return out


def search(found: list[Needle], where: str, data: bytes) -> list[Leak]:
    """The canaries in ``data`` (one leak per label: the first encoding that matched)."""
    if not data:
        return []
    folded = data.lower()
    compact = _COMPACT.sub(b"", data)
    leaks: dict[str, Leak] = {}
    for needle in found:
        if needle.label in leaks:
            continue
        hit = (needle.data.lower() in folded if needle.fold else needle.data in data)
        if not hit and needle.encoding == "base64":
            hit = needle.data in compact
        if hit:
            leaks[needle.label] = Leak(needle.label, where, needle.encoding)
    return list(leaks.values())


def _replaced(data: bytes, found: list[Needle]) -> bytes:
    for needle in sorted(found, key=lambda n: -len(n.data)):
        marker = f"[canary: {needle.label}]".encode()
        flags = re.IGNORECASE if needle.fold else 0
        data = re.sub(re.escape(needle.data), lambda _m, m=marker: m, data, flags=flags)
    return data


def mask(data: bytes, found: list[Needle], *, around: int = 80) -> str:
    """An excerpt of ``data`` around the first canary, every form of every canary replaced
    by ``[canary: label]`` before the excerpt is cut (no value survives at its edges)."""
    masked = _replaced(data, found)
    joined = _COMPACT.sub(b"", masked)
    if any(n.data in joined for n in found if n.encoding == "base64"):
        masked = _replaced(joined, found)  # base64 broken over lines: mask it joined up
    else:
        masked = _COMPACT.sub(b" ", masked)
    at = masked.find(b"[canary:")
    start = max(0, at - around) if at >= 0 else 0
    return masked[start: start + 2 * around + 60].decode("utf-8", "replace")


def _variants(made_up: str) -> list[str]:
    """Undocumented query strings for a GET route: each alone, a made-up one, all at once."""
    singles = [urlencode([pair]) for pair in (*UNDOCUMENTED, (made_up, "1"))]
    return [*singles, urlencode(UNDOCUMENTED)]


def _record(host: HostHandle, sent: Sent, label: str, method: str, path: str,
            role: str | None, **kwargs: object) -> bool:
    """Send one request and keep its headers and body; ``False`` when it timed out."""
    for attempt in range(RETRIES + 1):
        try:
            response = host.request(method, path, as_role=role, timeout=REQUEST_TIMEOUT_S,
                                    **kwargs)
        except httpx.TimeoutException:
            sent.statuses[label] = "timeout"
            return False
        except httpx.HTTPError as exc:
            sent.statuses[label] = type(exc).__name__
            return True
        if response.status_code != 429 or attempt == RETRIES:
            break
        try:
            wait = min(max(float(response.headers.get("retry-after", "1")), 0.05), RETRY_WAIT_S)
        except ValueError:
            wait = 1.0
        if sent.waited_s + wait > RETRY_BUDGET_S:
            break
        sent.waited_s += wait
        time.sleep(wait)
    sent.statuses[label] = response.status_code
    head = "".join(f"{k}: {v}\n" for k, v in response.headers.items()).encode("latin-1",
                                                                              "replace")
    sent.received[label] = head + b"\n" + response.content
    return True


def _who(role: str | None) -> str:
    return f"as {role}" if role else "anonymously"


def drive(host: HostHandle, name: str, *, routes: Iterable[Route] | None = None) -> Sent:
    """Every declared route of ``name``, each registered method as admin and anonymously;
    every GET route again with each undocumented parameter; the extension's entries in
    the management API; an unregistered path under its prefix. Returns what came back."""
    sent = Sent()
    made_up = "x" + secrets.token_hex(4)
    table = list(routes) if routes is not None else route_table(host, name)
    for route in table:
        for method in (m for m in route.methods if m in CALLABLE_METHODS):
            call = Call(method, route.path)
            for role in ("admin", None):
                label = f"{method} {route.path} {_who(role)}"
                alive = _record(host, sent, label, method, route.path, role, **call.body())
                if method != "GET" or not alive:
                    continue
                for query in _variants(made_up):
                    path = f"{route.path}?{query}"
                    if not _record(host, sent, f"GET {path} {_who(role)}", "GET", path, role):
                        break
    unregistered = f"/ext/{name}/dbh-unregistered-probe"
    for path in (unregistered, f"{unregistered}?{urlencode(UNDOCUMENTED)}"):
        for role in ("admin", None):
            _record(host, sent, f"GET {path} {_who(role)}", "GET", path, role)
    for suffix in ("", "/health", "/metrics", "/config"):
        path = f"{MGMT}/{name}{suffix}"
        _record(host, sent, f"GET {path} as admin", "GET", path, "admin")
    return sent
