"""One HTTP POST over asyncio streams: the standard library only, no threads.

Deliveries run on the host's event loop, so the client must never block it:
``asyncio.open_connection`` does the I/O, ``asyncio.timeout`` bounds the whole
attempt, and cancelling the task (``stop()``) ends it at once. Only the status
line of the answer is read: a receiver's body is of no use to the sender, and
not reading it keeps a hostile receiver from making us buffer megabytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["DeliveryError", "post"]

USER_AGENT = "dufflebag-webhooks/1.0"
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})(?: |\r?\n)")
_MAX_STATUS_LINE = 8192


class DeliveryError(Exception):
    """An attempt did not get an HTTP status (refused, timed out, TLS, garbage).

    ``permanent`` errors are not retried: another attempt cannot succeed.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _request_head(
    url: str, length: int, headers: Mapping[str, str]
) -> tuple[str, int, bool, bytes]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"User-Agent: {USER_AGENT}",
             f"Content-Length: {length}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return host, port, https, "\r\n".join(lines).encode("latin-1")


async def _exchange(host: str, port: int, https: bool, data: bytes) -> int:
    context = ssl.create_default_context() if https else None
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=host if https else None,
        limit=_MAX_STATUS_LINE)
    try:
        writer.write(data)
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    match = _STATUS.match(line)
    if not match:
        raise DeliveryError(f"no HTTP status line in the answer ({line[:40]!r})")
    return int(match.group(1))


async def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST ``body`` to ``url`` and return the response status; DeliveryError otherwise.

    ``url`` must already be validated (http/https, no control characters):
    the request head is built from it verbatim.
    """
    host, port, https, head = _request_head(url, len(body), headers)
    try:
        async with asyncio.timeout(timeout_s):
            return await _exchange(host, port, https, head + body)
    except TimeoutError:
        raise DeliveryError(f"timed out after {timeout_s:g} s") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS error: {exc.reason or exc}") from None
    except (OSError, ValueError) as exc:  # refused, unreachable, line too long
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
