"""Path rules: what a route may be registered as, what a request may ask for.

Both sides are checked because either alone is not enough: a route template
could smuggle an escape in at registration, and a request could encode one
(``%2e%2e``, ``%2f``) that the server decodes after routing decided on the raw
form. Everything here is pure string work, so it is cheap enough to run on
every request.
"""

from __future__ import annotations

import re

from starlette.convertors import CONVERTOR_TYPES

from dufflebag_harness.sdk import RouteError

__all__ = [
    "check_request_path",
    "check_route_path",
    "path_matches",
    "route_shape",
]

#: Percent-encodings of ``/``, ``.``, ``%``, ``\`` and NUL: never legitimate in a path.
_ENCODED_ESCAPES = re.compile(rb"%(2f|2e|25|5c|00)", re.IGNORECASE)
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
_FORBIDDEN_CHARS = {"\\": "a backslash", "\x00": "a NUL byte", "?": "'?'", "#": "'#'"}


def check_route_path(path: object, *, where: str) -> str:
    """Return ``path`` if it is a safe route template, else raise :class:`RouteError`.

    ``where`` names the registration in the message (e.g. ``"extension 'a'"``).
    """
    if not isinstance(path, str):
        raise RouteError(f"{where}: route path must be a string, got {type(path).__name__}")
    if not path.startswith("/"):
        raise RouteError(f"{where}: route path {path!r} must start with '/'")
    for char, label in _FORBIDDEN_CHARS.items():
        if char in path:
            raise RouteError(f"{where}: route path {path!r} contains {label}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in path):
        raise RouteError(f"{where}: route path {path!r} contains whitespace or a control character")
    if _ENCODED_ESCAPES.search(path.encode("utf-8")):
        raise RouteError(
            f"{where}: route path {path!r} contains a percent-encoded '/', '.', '%', "
            "'\\' or NUL"
        )
    if "//" in path:
        raise RouteError(f"{where}: route path {path!r} contains an empty segment ('//')")
    for segment in path.split("/")[1:]:
        if segment in (".", ".."):
            raise RouteError(f"{where}: route path {path!r} contains a {segment!r} segment")
    names: list[str] = []
    for match in _PARAM.finditer(path):
        name, convertor = match.group(1), match.group(2)
        if convertor is not None and convertor not in CONVERTOR_TYPES:
            raise RouteError(
                f"{where}: route path {path!r}: unknown parameter type {convertor!r} "
                f"(known: {', '.join(sorted(CONVERTOR_TYPES))})"
            )
        if name in names:
            raise RouteError(f"{where}: route path {path!r} repeats parameter {name!r}")
        names.append(name)
    leftover = _PARAM.sub("", path)
    if "{" in leftover or "}" in leftover:
        raise RouteError(f"{where}: route path {path!r} has a malformed '{{parameter}}'")
    return path


def route_shape(path: str) -> str:
    """The template with parameter names erased, so ``{id}`` and ``{name}`` conflict."""
    return _PARAM.sub(lambda m: "{:" + (m.group(2) or "str") + "}", path)


def check_request_path(path: str, raw_path: bytes | None) -> str | None:
    """Why a request path must not be routed, or ``None`` when it may be.

    Looks at the decoded ``path`` (dot segments, ``//``, backslash, NUL) and at
    the raw bytes (encoded ``/``, ``.``, ``%``, ``\\``, NUL), whichever the
    server supplied.
    """
    if raw_path is not None and _ENCODED_ESCAPES.search(raw_path):
        return "percent-encoded '/', '.', '%', '\\' or NUL in the path"
    if "\\" in path or "\x00" in path:
        return "backslash or NUL in the path"
    if "//" in path:
        return "empty segment ('//') in the path"
    if "/." in path:
        for segment in path.split("/"):
            if segment in (".", ".."):
                return "dot segment in the path"
    return None


def path_matches(patterns: tuple[str, ...] | None, path: str) -> bool:
    """Whether ``path`` is selected by ``patterns`` (``None``: every path).

    A pattern is an exact path, or a prefix ending in ``*`` (``"/api/*"``).
    """
    if patterns is None:
        return True
    for pattern in patterns:
        if pattern.endswith("*"):
            if path.startswith(pattern[:-1]):
                return True
        elif path == pattern:
            return True
    return False
