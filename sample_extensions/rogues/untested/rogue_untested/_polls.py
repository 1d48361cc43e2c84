"""Poll bookkeeping: validation, votes and results, kept apart from HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_OPTIONS = 10


class PollError(ValueError):
    """A request that cannot be applied to a poll."""


@dataclass
class Poll:
    id: int
    question: str
    options: list[str]
    votes: dict[int, int] = field(default_factory=dict)  # user id -> option index
    closed: bool = False

    def vote(self, user_id: int, option: int) -> None:
        if self.closed:
            raise PollError("the poll is closed")
        if not 0 <= option < len(self.options):
            raise PollError(f"option must be 0 to {len(self.options) - 1}")
        self.votes[user_id] = option

    def results(self) -> dict[str, Any]:
        counts = [0] * len(self.options)
        for option in self.votes.values():
            counts[option] += 1
        total = sum(counts)
        leader = None
        if total:
            best = max(counts)
            leaders = [o for o, c in zip(self.options, counts, strict=True) if c == best]
            leader = leaders[0] if len(leaders) == 1 else None
        return {"question": self.question, "total": total, "leader": leader,
                "counts": dict(zip(self.options, counts, strict=True)), "closed": self.closed}


def parse_poll(body: Any, poll_id: int) -> Poll:
    if not isinstance(body, dict):
        raise PollError("expected a JSON object")
    question = body.get("question")
    options = body.get("options")
    if not isinstance(question, str) or not question.strip():
        raise PollError("question: a non-empty string is required")
    if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
        raise PollError(f"options: a list of 2 to {MAX_OPTIONS} strings is required")
    if not all(isinstance(o, str) and o.strip() for o in options):
        raise PollError("options: every option must be a non-empty string")
    if len(set(options)) != len(options):
        raise PollError("options: duplicates are not allowed")
    return Poll(poll_id, question.strip(), [o.strip() for o in options])
