"""Who is asking and for what, so the formatting helpers need not be handed the request.

One ``RequestContext`` lives on the extension and is bound at the start of each
request; the helpers read it when they build the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from dufflebag_harness.sdk import Request, current_user


@dataclass
class RequestContext:
    username: str = ""
    query: str = ""

    def bind(self, request: Request) -> None:
        user = current_user(request)
        self.username = user.username if user is not None else ""
        self.query = request.query_params.get("q", "")

    def answer(self, hits: int) -> dict[str, object]:
        return {"user": self.username, "query": self.query, "hits": hits}
