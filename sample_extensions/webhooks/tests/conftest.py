"""A real HTTP receiver on 127.0.0.1, and helpers to subscribe and wait for deliveries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the receiver got, and what it answers next (statuses in order, then 200)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            if state.delay_s:
                time.sleep(state.delay_s)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def subscribe(dufflebag_client: Any) -> Callable[..., dict[str, Any]]:
    """``subscribe(url, events=[...], **fields)``: create a subscription as admin, return it."""

    def create(url: str, events: list[str] | None = None, **fields: Any) -> dict[str, Any]:
        body = {"url": url, "events": events or ["request.completed"], **fields}
        r = dufflebag_client.post("/ext/webhooks/subscriptions", json=body, as_role="admin")
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    return create


@pytest.fixture
def drain(dufflebag_portal: Any, dufflebag_instance: Any) -> Callable[[], None]:
    """Wait until every queued delivery finished (all attempts made and logged)."""

    def wait() -> None:
        assert dufflebag_portal.call(dufflebag_instance.drain, 10.0), "deliveries did not finish"

    return wait
