"""Judging a ``hooks.trace`` against what the extension declared.

The trace (from the worker) lists, per request, the extension's middleware
entered and forwarding, hooks fired with the changes they made, handlers
reached with the headers they saw. The declarations come from the
management API. Each function here returns a list of problems (dicts with a
``problem`` text); the HK checks decide.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "dead_patterns",
    "modification_problems",
    "order_problems",
    "out_of_path_problems",
    "path_matches",
]

Problem = dict[str, Any]
_PARAM = re.compile(r"\{[^}]+\}")
_SINGULAR = {"middleware": "middleware", "hooks": "hook"}


def path_matches(patterns: Sequence[str] | None, path: str) -> bool:
    """The host's rule: ``None`` matches all; ``"/x/*"`` a prefix; anything else exactly."""
    if patterns is None:
        return True
    return any(path.startswith(p[:-1]) if p.endswith("*") else path == p for p in patterns)


def _label(req: Mapping[str, Any]) -> str:
    return f"{req['method']} {req['path']}"


def _by_index(items: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    return {int(item["index"]): item for item in items}


def _sorted_by_priority(indices: Sequence[int], declared: Mapping[int, Mapping[str, Any]]
                        ) -> list[int]:
    return sorted(indices, key=lambda i: (int(declared[i]["priority"]), i))


def order_problems(trace: Mapping[str, Any]) -> list[Problem]:
    """Registrations run more than once per request, or out of declared priority order."""
    mws = _by_index(trace["declared"]["middleware"])
    hooks = _by_index(trace["declared"]["hooks"])
    out: list[Problem] = []
    for req in trace["requests"]:
        events = req["events"]
        counts = Counter((e["kind"], e.get("index")) for e in events)
        for (kind, index), n in sorted(counts.items(), key=str):
            if n <= 1 or kind not in ("middleware", "forward", "handler"):
                continue
            what = (f"handler of {req['template']}" if kind == "handler"
                    else f"middleware {mws[index]['name']!r}")
            verb = "passed the request on" if kind == "forward" else "ran"
            out.append({"request": _label(req),
                        "problem": f"{what} {verb} {n} times in one request"})
        entered = [e["index"] for e in events if e["kind"] == "middleware"]
        if len(set(entered)) == len(entered) and entered != _sorted_by_priority(entered, mws):
            out.append({"request": _label(req), "problem": "middleware ran in order "
                        f"{[mws[i]['name'] for i in entered]}, not by priority"})
        fired: dict[str, list[int]] = {}
        for e in events:
            if e["kind"] == "hook":
                fired.setdefault(e["type"], []).append(e["index"])
        for kind, indices in fired.items():
            if len(set(indices)) != len(indices):
                out.append({"request": _label(req),
                            "problem": f"{kind} hooks fired more than once: "
                                       f"{[hooks[i]['name'] for i in indices]}"})
            elif indices != _sorted_by_priority(indices, hooks):
                out.append({"request": _label(req),
                            "problem": f"{kind} hooks fired in order "
                                       f"{[hooks[i]['name'] for i in indices]}, not by priority"})
    return out


def _expected_headers(changes: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], set[str]]:
    """Header values and removals after a sequence of hook changes (later ones win)."""
    values: dict[str, Any] = {}
    removed: set[str] = set()
    for change in changes:
        for name, value in change.get("set", {}).items():
            values[name] = value
            removed.discard(name)
        for name in change.get("removed", []):
            values.pop(name, None)
            removed.add(name)
    return values, removed


def _header_problems(seen: Mapping[str, str], changes: list[Mapping[str, Any]],
                     where: str) -> list[str]:
    values, removed = _expected_headers(changes)
    out = []
    for name, value in values.items():
        got = seen.get(name)
        if got is None or (isinstance(value, str) and got != value):
            out.append(f"header {name}: {value!r} set by a hook, {got!r} {where}")
    out += [f"header {name} removed by a hook, still present {where}"
            for name in sorted(removed) if name in seen]
    return out


def _status_problem(req: Mapping[str, Any], hooks: Mapping[int, Mapping[str, Any]],
                    events: list[Mapping[str, Any]]) -> str:
    wanted: tuple[str, Any] | None = None
    for e in events:
        changes = e.get("changes") or {}
        if e.get("type") == "pre_response" and "status" in changes:
            wanted = (hooks[e["index"]]["name"], changes["status"])
        elif e.get("type") in ("pre_request", "authorization") and changes.get("aborted"):
            wanted = (hooks[e["index"]]["name"], changes["aborted"])
    if wanted is None or req["status"] == wanted[1]:
        return ""
    return (f"hook {wanted[0]!r} set status {wanted[1]!r}, the client got {req['status']}"
            + ("" if isinstance(wanted[1], int) else " (a status must be an int 100-599)"))


def modification_problems(trace: Mapping[str, Any]) -> list[Problem]:
    """Hooks that raised, and changes hooks made that did not reach the client or handler."""
    hooks = _by_index(trace["declared"]["hooks"])
    out: list[Problem] = []
    for req in trace["requests"]:
        label, events = _label(req), [e for e in req["events"] if e["kind"] == "hook"]
        for e in events:
            if e.get("error"):
                out.append({"request": label, "problem": f"hook {hooks[e['index']]['name']!r} "
                            f"({e['type']}) raised {e['error']}"})
        status = _status_problem(req, hooks, events)
        if status:
            out.append({"request": label, "problem": status})
        response_changes = [(e.get("changes") or {}).get("response_headers", {})
                            for e in events if e["type"] == "pre_response"]
        for text in _header_problems(req["headers"], response_changes, "in the response"):
            out.append({"request": label, "problem": text})
        request_changes = [(e.get("changes") or {}).get("request_headers", {})
                           for e in events if e["type"] == "pre_request"]
        for handler in (e for e in req["events"] if e["kind"] == "handler"):
            for text in _header_problems(handler["headers"], request_changes,
                                         "where the handler read it"):
                out.append({"request": label, "problem": text})
    return out


def out_of_path_problems(trace: Mapping[str, Any]) -> list[Problem]:
    """Registrations that ran on requests outside the paths they were declared for."""
    mws = _by_index(trace["declared"]["middleware"])
    hooks = _by_index(trace["declared"]["hooks"])
    out: list[Problem] = []
    for req in trace["requests"]:
        for e in req["events"]:
            if e["kind"] == "middleware":
                decl, target = mws[e["index"]], req["template"]
            elif e["kind"] == "hook":
                decl, target = hooks[e["index"]], req["path"]
            else:
                continue
            if not path_matches(decl["paths"], target):
                out.append({"request": _label(req), "problem": f"{e['kind']} "
                            f"{decl['name']!r} declared for {decl['paths']} ran on {target!r}"})
    return out


def _template_regex(template: str) -> re.Pattern[str]:
    literal = [re.escape(part) for part in _PARAM.split(template)]
    return re.compile("^" + "[^/]+".join(literal) + "$")


def _selects(pattern: str, templates: Sequence[str]) -> bool:
    """Whether ``pattern`` selects a request to at least one of ``templates``."""
    if pattern.endswith("*"):
        stem = pattern[:-1]
        return any(t.startswith(stem) or ("{" in t and stem.startswith(t.split("{", 1)[0]))
                   for t in templates)
    return any(t == pattern or _template_regex(t).match(pattern) for t in templates)


def dead_patterns(declared: Mapping[str, Any], templates: Sequence[str]) -> list[Problem]:
    """Declared path patterns that select no route of the host (they never apply)."""
    out: list[Problem] = []
    for kind in ("middleware", "hooks"):
        for item in declared.get(kind) or []:
            for pattern in item.get("paths") or ():
                if not _selects(str(pattern), templates):
                    what = f"{_SINGULAR[kind]} {item['name']!r}"
                    out.append({"registration": what, "pattern": pattern,
                                "problem": f"{what}: path {pattern!r} matches no route"})
    return out
