"""Migration scripts split at the right semicolons and nowhere else."""

from __future__ import annotations

import sqlite3

import pytest

from dufflebag_harness.inside.db._sqlscript import (
    ScriptError,
    split_statements,
    transaction_control,
)

SQLITE_SCRIPT = """
-- a comment; with a semicolon
CREATE TABLE "odd;name" (a TEXT DEFAULT 'x;y', [b;c] TEXT, `d;e` TEXT);
/* block; comment */ INSERT INTO "odd;name" (a) VALUES ('it''s; fine');
CREATE TRIGGER trg AFTER INSERT ON "odd;name"
WHEN CASE WHEN new.a IS NULL THEN 0 ELSE 1 END
BEGIN
  UPDATE "odd;name" SET a = 'p;q' WHERE a IS NULL;
  SELECT CASE WHEN 1 THEN 'r;s' END;
END;
;;
SELECT 1 -- trailing; comment
"""


def test_sqlite_statements_are_split_where_sqlite_itself_would() -> None:
    statements = split_statements(SQLITE_SCRIPT, "sqlite")
    assert [s.words[:2] for s in statements] == [
        ("CREATE", "TABLE"),
        ("INSERT", "INTO"),
        ("CREATE", "TRIGGER"),
        ("SELECT",),
    ]
    assert [s.line for s in statements] == [3, 4, 5, 12]
    for statement in statements:
        # SQLite's own tokenizer agrees: each piece is complete, and cutting it
        # at an inner semicolon would not have been (nothing was merged).
        assert sqlite3.complete_statement(statement.sql + "\n;"), statement.sql
        if ";" in statement.sql:
            cut = statement.sql.rsplit(";", 1)[0]
            assert not sqlite3.complete_statement(cut + ";"), cut


def test_sqlite_script_runs_as_split() -> None:
    conn = sqlite3.connect(":memory:")
    for statement in split_statements(SQLITE_SCRIPT, "sqlite"):
        conn.execute(statement.sql)
    assert conn.execute('SELECT a FROM "odd;name"').fetchall() == [("it's; fine",)]


def test_postgresql_quoting_forms_hide_semicolons() -> None:
    script = (
        "SELECT E'back\\\\slash\\'; still inside';\n"
        "SELECT $$ ; $$, $fn$ $$ ; $fn$;\n"
        "/* outer /* nested; */ still; comment */ SELECT 1;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "SELECT a$b$ FROM t;\n"
        "PREPARE q AS SELECT $1;"
    )
    statements = split_statements(script, "postgresql")
    assert [s.line for s in statements] == [1, 2, 3, 4, 5, 6]
    assert statements[0].sql == "SELECT E'back\\\\slash\\'; still inside'"
    assert statements[3].sql.endswith("SELECT 2; END")
    assert statements[4].sql == "SELECT a$b$ FROM t"


@pytest.mark.parametrize(
    ("script", "dialect", "where"),
    [
        ("SELECT 'open;", "sqlite", "line 1, column 8"),
        ("SELECT 1;\nSELECT $tag$ never closed", "postgresql", "line 2, column 8"),
        ("SELECT 1; /* /* */", "postgresql", "line 1, column 11"),
        ('SELECT "x', "postgresql", "line 1, column 8"),
        (
            "SELECT 1;\n  CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;",
            "sqlite",
            "line 2, col",
        ),
    ],
)
def test_unterminated_text_is_reported_with_its_position(
    script: str, dialect: str, where: str
) -> None:
    with pytest.raises(ScriptError, match=where):
        split_statements(script, dialect)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("BEGIN", True),
        ("begin transaction", True),
        ("COMMIT", True),
        ("END", True),
        ("ROLLBACK TO SAVEPOINT a", True),
        ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", True),
        ("PREPARE TRANSACTION 'x'", True),
        ("CREATE TABLE begin_log (x INTEGER)", False),
        ("PREPARE stmt AS SELECT 1", False),
        ("SELECT 'COMMIT'", False),
    ],
)
def test_transaction_control_is_recognised(sql: str, expected: bool) -> None:
    (statement,) = split_statements(sql, "postgresql")
    assert transaction_control(statement) is expected


def test_non_ascii_text_outside_quotes_is_kept() -> None:
    statements = split_statements("SELECT 1 AS café; SELECT 'naïve;'", "postgresql")
    assert [s.sql for s in statements] == ["SELECT 1 AS café", "SELECT 'naïve;'"]


def test_comment_only_scripts_have_no_statements() -> None:
    assert split_statements("-- nothing\n/* at all; */\n  ;\n", "sqlite") == []
