"""Split a migration script into statements without breaking quoted text.

Why a splitter of our own: ``sqlite3.Connection.executescript`` commits any
pending transaction before it runs, so it cannot run inside the migration's
transaction; psycopg would accept the whole script at once, but then a
``COMMIT`` inside it would end our transaction half-way. Splitting first lets
both backends run the same statements one by one inside one transaction, lets
errors name the failing statement, and lets us refuse transaction control
before anything runs.

The lexer knows what can hide a ``;``: single-quoted strings (``''`` escape;
PostgreSQL ``E'..'`` with backslash escapes), double-quoted identifiers,
SQLite's `` `..` `` and ``[..]`` identifiers, PostgreSQL dollar quotes
(``$$..$$``, ``$tag$..$tag$``), ``--`` and ``/* */`` comments (nested on
PostgreSQL), SQLite trigger bodies (``CREATE TRIGGER .. BEGIN .. END``) and
PostgreSQL SQL-standard bodies (``BEGIN ATOMIC .. END``), counting ``CASE ..
END`` inside those blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ScriptError", "Statement", "split_statements", "transaction_control"]

_WORD = {
    "sqlite": re.compile(r"[A-Za-z_][A-Za-z0-9_]*"),
    "postgresql": re.compile(r"[A-Za-z_][A-Za-z0-9_$]*"),
}
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_TXN_WORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"})


class ScriptError(ValueError):
    """The script cannot be split (an unterminated string, comment or block)."""


@dataclass(frozen=True)
class Statement:
    """One statement of a script; ``line`` is where it starts (1-based)."""

    sql: str
    line: int
    words: tuple[str, ...]
    """The first few keywords, upper-cased (what the statement *is*)."""


class _Lexer:
    def __init__(self, sql: str, dialect: str) -> None:
        if dialect not in _WORD:
            raise ValueError(f"unknown SQL dialect {dialect!r}")
        self.sql = sql
        self.pg = dialect == "postgresql"
        self.word_re = _WORD[dialect]
        self.out: list[Statement] = []

    def where(self, pos: int) -> str:
        line = self.sql.count("\n", 0, pos) + 1
        col = pos - (self.sql.rfind("\n", 0, pos) + 1) + 1
        return f"line {line}, column {col}"

    def find(self, token: str, pos: int, what: str, start: int) -> int:
        end = self.sql.find(token, pos)
        if end < 0:
            raise ScriptError(f"unterminated {what} starting at {self.where(start)}")
        return end + len(token)

    def skip_quoted(self, pos: int, quote: str, backslash: bool) -> int:
        i = pos + 1
        while True:
            j = self.find(quote, i, "quoted text", pos)
            if backslash and _escaped(self.sql, j - 2):
                i = j
                continue
            if self.sql.startswith(quote, j):
                i = j + 1  # doubled quote: an escaped quote character
                continue
            return j

    def skip_block_comment(self, pos: int) -> int:
        depth, i = 1, pos + 2
        while depth:
            closing = self.sql.find("*/", i)
            if closing < 0:
                raise ScriptError(f"unterminated comment starting at {self.where(pos)}")
            opening = self.sql.find("/*", i, closing) if self.pg else -1
            if opening >= 0:
                depth, i = depth + 1, opening + 2
            else:
                depth, i = depth - 1, closing + 2
        return i

    def run(self) -> list[Statement]:
        sql, n = self.sql, len(self.sql)
        i = start = 0
        depth = 0
        words: list[str] = []
        code_at = -1
        while i < n:
            c = sql[i]
            if c == "-" and sql.startswith("--", i):
                nl = sql.find("\n", i)
                i = n if nl < 0 else nl + 1
                continue
            if c == "/" and sql.startswith("/*", i):
                i = self.skip_block_comment(i)
                continue
            if c == ";" and depth == 0:
                self.emit(i, code_at, words)
                i = start = i + 1
                words, code_at = [], -1
                continue
            if code_at < 0 and not c.isspace():
                code_at = i
            if c in "'\"" or (not self.pg and c == "`"):
                i = self.skip_quoted(i, c, backslash=False)
            elif c == "[" and not self.pg:
                i = self.find("]", i + 1, "bracketed identifier", i)
            elif (
                c == "$"
                and self.pg
                and (m := _DOLLAR_TAG.match(sql, i))
                and not _ident_before(sql, i)
            ):
                i = self.find(m.group(), m.end(), "dollar-quoted text", i)
            elif (m := self.word_re.match(sql, i)) is not None:
                word = m.group().upper()
                i = m.end()
                if word == "E" and self.pg and sql.startswith("'", i):
                    i = self.skip_quoted(i, "'", backslash=True)
                    continue
                depth = self.block_depth(word, words, depth)
                words.append(word)
            else:
                i += 1
        if depth > 0:
            raise ScriptError(
                f"unterminated BEGIN ... END block starting at {self.where(max(start, code_at))}"
            )
        self.emit(n, code_at, words)
        return self.out

    def block_depth(self, word: str, words: list[str], depth: int) -> int:
        if depth > 0:
            if word == "CASE":
                return depth + 1
            if word == "END":
                return depth - 1
            return depth
        if self.pg:
            return 1 if word == "ATOMIC" and words[-1:] == ["BEGIN"] and len(words) > 1 else 0
        is_trigger = words[:1] == ["CREATE"] and "TRIGGER" in words[1:3]
        return 1 if word == "BEGIN" and is_trigger else 0

    def emit(self, end: int, code_at: int, words: list[str]) -> None:
        if code_at < 0:
            return  # only whitespace and comments
        text = self.sql[code_at:end].strip()
        line = self.sql.count("\n", 0, code_at) + 1
        self.out.append(Statement(text, line, tuple(words[:3])))


def _escaped(sql: str, pos: int) -> bool:
    """Whether an odd run of backslashes ends at ``pos`` (the next character is escaped)."""
    run = 0
    while pos >= 0 and sql[pos] == "\\":
        run += 1
        pos -= 1
    return run % 2 == 1


def _ident_before(sql: str, pos: int) -> bool:
    return pos > 0 and (sql[pos - 1].isalnum() or sql[pos - 1] in "_$")


def split_statements(sql: str, dialect: str) -> list[Statement]:
    """Statements of ``sql`` for ``dialect`` (``"sqlite"`` or ``"postgresql"``).

    Empty statements and comment-only tails are dropped. Raises
    :class:`ScriptError` naming the line and column of an unterminated
    string, comment or block.
    """
    return _Lexer(sql, dialect).run()


def transaction_control(statement: Statement) -> bool:
    """Whether ``statement`` would begin or end a transaction (ours to control)."""
    words = statement.words
    if not words:
        return False
    if words[0] in _TXN_WORDS:
        return True
    if words[0] == "START" and words[1:2] == ("TRANSACTION",):
        return True
    return words[0] == "PREPARE" and words[1:2] == ("TRANSACTION",)
