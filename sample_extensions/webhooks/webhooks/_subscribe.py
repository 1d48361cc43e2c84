"""What a subscription request may ask for: validated before anything is stored.

Every refusal names the JSON path of the offending value (``$.url: …``), the
same convention the host uses for configuration errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webhooks._config import Settings

__all__ = ["EVENTS", "MAX_DESCRIPTION", "MAX_URL", "NewSubscription", "Refused", "validate"]

#: Events a subscription can ask for. ``webhook.ping`` is sent on demand to one subscription.
EVENTS = ("request.completed", "user.signup")
MAX_URL = 2048
MAX_DESCRIPTION = 200
_FIELDS = frozenset({"url", "events", "path_prefix", "description"})


class Refused(ValueError):
    """The request was refused; ``str()`` is ``"$.path: reason"``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class NewSubscription:
    url: str
    events: tuple[str, ...]
    path_prefix: str
    description: str


def check_url(url: object, settings: Settings) -> str:
    """``url`` if it is an http(s) URL to an allowed host, without credentials."""
    if not isinstance(url, str) or not url:
        raise Refused("$.url", "must be a non-empty string")
    if len(url) > MAX_URL:
        raise Refused("$.url", f"longer than {MAX_URL} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F or ord(c) > 0x7E for c in url):
        raise Refused("$.url", "must be ASCII without spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused("$.url", f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("$.url", "must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise Refused("$.url", "must not contain credentials (use the signature instead)")
    host = parts.hostname
    if not host:
        raise Refused("$.url", "has no host")
    if port == 0:
        raise Refused("$.url", "port 0 is not a port")
    if not settings.allows(host):
        raise Refused("$.url", f"host {host!r} is not allowed (allowed_hosts: "
                      f"{', '.join(settings.allowed_hosts) or 'none'})")
    return url


def validate(body: Any, settings: Settings) -> NewSubscription:
    """The subscription ``body`` asks for; :class:`Refused` names the first problem."""
    if not isinstance(body, dict):
        raise Refused("$", "expected a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise Refused(f"$.{unknown[0]}", "unknown field")
    url = check_url(body.get("url"), settings)
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise Refused("$.events", f"must be a non-empty array of {', '.join(EVENTS)}")
    for i, event in enumerate(events):
        if event not in EVENTS:
            raise Refused(f"$.events[{i}]", f"{event!r} is not one of {', '.join(EVENTS)}")
    if len(set(events)) != len(events):
        raise Refused("$.events", "lists an event twice")
    prefix = body.get("path_prefix", "/")
    if not isinstance(prefix, str) or not prefix.startswith("/") or len(prefix) > MAX_URL:
        raise Refused("$.path_prefix", "must be a path starting with '/'")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise Refused("$.description", f"must be a string of at most {MAX_DESCRIPTION} "
                      "characters")
    return NewSubscription(url, tuple(events), prefix, description)
