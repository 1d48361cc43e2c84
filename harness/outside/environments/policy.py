"""The marketplace's licence policy (``certify --licence-policy FILE``) and its verdicts.

The file is TOML with two optional lists of SPDX licence ids::

    allow = ["MIT", "BSD-3-Clause", "Apache-2.0"]   # empty or absent: anything not denied
    deny = ["GPL-3.0-only", "AGPL-3.0-only"]

A package's SPDX expression is judged as written: ``A OR B`` passes when either side
does, ``A AND B`` when both do (``WITH`` exceptions go with their licence); a package that
states no licence the harness can read (``NOASSERTION``) does not pass an allow list.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from dufflebag_harness.outside.environments.build import DependencyError

__all__ = ["judge", "read_policy"]

_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+:-]+")


def read_policy(path: Path) -> dict[str, Any]:
    """``{"file", "digest", "allow", "deny"}``; :class:`DependencyError` names what is wrong."""
    where = f"--licence-policy {path}"
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise DependencyError(f"{where}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DependencyError(f"{where}: not TOML ({exc})") from None
    unknown = sorted(set(data) - {"allow", "deny"})
    if unknown:
        raise DependencyError(f"{where}: unknown key {unknown[0]!r} (allow and deny only)")
    lists: dict[str, list[str]] = {}
    for key in ("allow", "deny"):
        items = data.get(key, [])
        if not isinstance(items, list):
            raise DependencyError(f"{where}: {key}: expected a list of SPDX licence ids")
        ids = []
        for i, item in enumerate(items):
            try:
                ids.append(str(canonicalize_license_expression(str(item))))
            except InvalidLicenseExpression:
                raise DependencyError(f"{where}: {key}[{i}]: {item!r} is not an SPDX licence "
                                      "id") from None
        lists[key] = ids
    both = sorted(set(lists["allow"]) & set(lists["deny"]))
    if both:
        raise DependencyError(f"{where}: {both[0]} is both allowed and denied")
    return {"file": path.name, "digest": "sha256:" + hashlib.sha256(raw).hexdigest(),
            "allow": lists["allow"], "deny": lists["deny"]}


class _Parser:
    def __init__(self, text: str, allow: Sequence[str], deny: Sequence[str]) -> None:
        self.tokens = _TOKEN.findall(text)
        self.pos = 0
        self.allow, self.deny = {a.lower() for a in allow}, {d.lower() for d in deny}
        self.reasons: list[str] = []

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def expr(self) -> bool:
        ok = self.term()
        while self._peek().upper() == "OR":
            self.pos += 1
            ok = self.term() or ok
        return ok

    def term(self) -> bool:
        ok = self.factor()
        while self._peek().upper() == "AND":
            self.pos += 1
            ok = self.factor() and ok
        return ok

    def factor(self) -> bool:
        token = self._peek()
        self.pos += 1
        if token == "(":
            ok = self.expr()
            self.pos += 1  # ")"
            return ok
        if self._peek().upper() == "WITH":
            self.pos += 2
        lid = token.lower()
        if lid in self.deny:
            self.reasons.append(f"{token} is denied")
            return False
        if self.allow and lid not in self.allow:
            self.reasons.append(f"{token} is not on the allow list")
            return False
        return True


def judge(expression: str, policy: dict[str, Any]) -> str:
    """``allowed``, or why not (``denied: GPL-3.0-only is denied``)."""
    if not expression or expression == "NOASSERTION":
        return "allowed" if not policy["allow"] else "not allowed: no licence stated"
    parser = _Parser(expression, policy["allow"], policy["deny"])
    if parser.expr():
        return "allowed"
    return "not allowed: " + "; ".join(dict.fromkeys(parser.reasons))
