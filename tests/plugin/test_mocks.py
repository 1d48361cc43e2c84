"""The recording fakes: shaped like the SDK services, refusing what the host refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

import dufflebag_harness.fixtures.mocks
from dufflebag_harness import sdk
from dufflebag_harness.fixtures.mocks import (
    MockAudit,
    MockAuth,
    MockCache,
    MockConfig,
    MockDatabase,
    MockLogger,
    MockMetrics,
    MockStorage,
    mock_services,
)
from dufflebag_harness.inside.db import SqliteProvider
from dufflebag_harness.inside.db._service import IsolatedDatabase
from dufflebag_harness.inside.host.services._cache import MemoryCache
from dufflebag_harness.sdk import PermissionDenied, StorageError, User

T = TypeVar("T")

ADMIN = User(1, "ann", roles=frozenset({"admin"}))
EDITOR = User(2, "bob", roles=frozenset({"user", "editor"}))
GONE = User(3, "cid", roles=frozenset({"user", "editor", "deleted"}))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_public_names_are_pinned() -> None:
    assert set(dufflebag_harness.fixtures.mocks.__all__) == {
        "AuditRecord", "Call", "LogRecord", "MockAudit", "MockAuth", "MockCache", "MockConfig",
        "MockDatabase", "MockLogger", "MockMetrics", "MockServices", "MockStorage", "Recorder",
        "mock_services",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("attr", "protocol"),
    [
        ("database", sdk.DatabaseService),
        ("auth", sdk.AuthService),
        ("logger", sdk.Logger),
        ("storage", sdk.StorageService),
        ("cache", sdk.CacheService),
        ("config", sdk.ConfigService),
        ("metrics", sdk.MetricsService),
        ("audit", sdk.AuditService),
    ],
)
def test_each_fake_satisfies_its_protocol(attr: str, protocol: type) -> None:
    services = mock_services("demo")
    assert isinstance(services, sdk.Services) and services.name == "demo"
    assert isinstance(getattr(services, attr), protocol)


def test_mock_services_refuses_a_bad_name() -> None:
    with pytest.raises(ValueError, match="'Bad-Name' does not match"):
        mock_services("Bad-Name")


def test_mock_services_seeds_config_and_users() -> None:
    services = mock_services("demo", config={"limit": 3}, users=[ADMIN])
    assert services.config.get("limit") == 3
    assert run(services.auth.get_user(1)) == ADMIN


def test_database_runs_sql_and_records_it() -> None:
    db = MockDatabase("demo")
    assert (db.backend, db.schema) == ("mock", "ext_demo")
    run(db.execute("CREATE TABLE hits (path TEXT)"))
    assert run(db.execute("INSERT INTO hits VALUES (:p)", {"p": "/a"})) == 1
    assert run(db.fetch_all("SELECT path FROM hits")) == [{"path": "/a"}]
    call = db.assert_called("execute", params={"p": "/a"})
    assert call.args == ("INSERT INTO hits VALUES (:p)", {"p": "/a"})
    assert [c.method for c in db.calls] == ["execute", "execute", "fetch_all"]
    db.close()


def test_auth_answers_reads_from_seeded_users() -> None:
    auth = MockAuth([ADMIN, EDITOR, GONE], grants={"editor": ["pages.edit"]})
    assert run(auth.validate_token("token-bob")) == EDITOR
    assert run(auth.validate_token("forged")) is None
    assert run(auth.get_user(99)) is None
    assert auth.token_of(1) == "token-ann"
    assert auth.check_permission(ADMIN, "anything") is True
    assert auth.check_permission(EDITOR, "pages.edit") is True
    assert auth.check_permission(EDITOR, "pages.delete") is False
    assert auth.check_permission(GONE, "pages.edit") is False
    assert auth.has_role(EDITOR, "editor") and not auth.has_role(GONE, "editor")
    auth.assert_called("validate_token", token="forged")


def test_auth_custom_tokens_must_name_seeded_users() -> None:
    assert run(MockAuth([ADMIN], tokens={"t1": 1}).validate_token("t1")) == ADMIN
    with pytest.raises(ValueError, match="unknown user id 7"):
        MockAuth([ADMIN], tokens={"t7": 7})


@pytest.mark.parametrize(
    "method", ["create_user", "update_user", "delete_user", "set_role", "grant"]
)
def test_auth_write_attempts_raise_and_are_recorded(method: str) -> None:
    auth = MockAuth([ADMIN])
    auth.assert_not_called(method)
    with pytest.raises(PermissionDenied, match="read-only"):
        getattr(auth, method)(1, role="admin")
    call = auth.assert_called(method, role="admin")
    assert call.args == (1,)
    with pytest.raises(AssertionError, match=f"MockAuth.{method} was called"):
        auth.assert_not_called(method)


def test_auth_state_cannot_be_replaced() -> None:
    auth = MockAuth([ADMIN])
    with pytest.raises(PermissionDenied):
        auth._users = {}  # type: ignore[misc]
    with pytest.raises(PermissionDenied):
        del auth._tokens
    with pytest.raises(AttributeError):
        auth.lookup  # noqa: B018 - a read-like name that does not exist


def test_logger_records_level_message_and_fields() -> None:
    log = MockLogger("demo")
    log.info("hit %s", "/a", user_id=5)
    log.warning("slow", ms=900)
    try:
        raise KeyError("k")
    except KeyError as exc:
        log.exception("failed")
        raised = exc
    assert [(r.level, r.msg) for r in log.records] == [
        ("info", "hit /a"),
        ("warning", "slow"),
        ("error", "failed"),
    ]
    assert log.records[0].fields == {"user_id": 5}
    assert log.records[2].fields["exc_info"] is raised
    assert log.messages("warning") == ["slow"]
    log.assert_called("info", msg="hit %s", args=("/a",), user_id=5)
    log.assert_called("exception")
    log.assert_not_called("debug")


def test_assertions_refuse_unknown_methods_and_report_mismatches() -> None:
    log = MockLogger()
    log.info("x", user_id=1)
    with pytest.raises(ValueError, match="no method 'infoo'"):
        log.assert_not_called("infoo")
    with pytest.raises(AssertionError, match=r"MockLogger.info not called with \{'user_id': 2\}"):
        log.assert_called("info", user_id=2)
    with pytest.raises(AssertionError, match="never called"):
        log.assert_called("error")


def test_storage_round_trip_list_and_delete() -> None:
    storage = MockStorage()
    run(storage.write("img/a.png", b"A"))
    run(storage.write("img//b.png", b"B"))
    run(storage.write("notes.txt", b"N"))
    assert run(storage.read("img/a.png")) == b"A"
    assert run(storage.list("img/")) == ["img/a.png", "img/b.png"]
    assert run(storage.exists("img/b.png")) and not run(storage.exists("img/c.png"))
    run(storage.delete("img/a.png"))
    assert run(storage.list()) == ["img/b.png", "notes.txt"]
    storage.assert_called("write", path="notes.txt", data=b"N")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../escape", "contains '..'"),
        ("a/../../escape", "contains '..'"),
        ("/etc/passwd", "is absolute"),
        ("a\x00b", "NUL byte"),
        ("a\\..\\b", "backslash"),
        ("", "non-empty string"),
        (".", "names the storage root"),
    ],
)
@pytest.mark.parametrize("method", ["write", "read", "delete", "exists"])
def test_storage_refuses_traversal_and_records_the_attempt(
    method: str, path: str, reason: str
) -> None:
    storage = MockStorage()
    args: tuple[Any, ...] = (path, b"x") if method == "write" else (path,)
    with pytest.raises(StorageError, match=reason):
        run(getattr(storage, method)(*args))
    storage.assert_called(method, path=path)
    assert storage.files == {}


def test_storage_missing_files_and_non_bytes_are_errors() -> None:
    storage = MockStorage()
    with pytest.raises(StorageError, match="not found"):
        run(storage.read("nope"))
    with pytest.raises(StorageError, match="not found"):
        run(storage.delete("nope"))
    with pytest.raises(StorageError, match="must be bytes"):
        run(storage.write("a.txt", "text"))  # type: ignore[arg-type]


def test_cache_expires_entries_on_its_clock() -> None:
    now = [100.0]
    cache = MockCache(clock=lambda: now[0])
    run(cache.set("k", {"v": 1}, ttl=10))
    run(cache.set("forever", 1))
    assert run(cache.get("k")) == {"v": 1}
    now[0] = 110.0
    assert run(cache.get("k", "gone")) == "gone"
    assert run(cache.get("forever")) == 1
    run(cache.delete("forever"))
    assert run(cache.get("forever")) is None
    with pytest.raises(ValueError, match="must be positive"):
        run(cache.set("k", 1, ttl=0))
    with pytest.raises(TypeError, match="cache keys are strings"):
        run(cache.get(1))  # type: ignore[arg-type]
    cache.assert_called("set", key="k", ttl=10)


def test_cache_is_the_hosts_cache_unbounded() -> None:
    cache = MockCache()
    assert isinstance(cache, MemoryCache)
    for i in range(20_001):  # past the host's default bound: the fake evicts nothing
        run(cache.set(f"k{i}", i))
    assert len(cache.items) == 20_001 and run(cache.get("k0")) == 0
    run(cache.set("k0", "again"))
    assert next(iter(cache.items)) == "k0"  # a re-set key keeps its place


def _host_sqlite(name: str) -> tuple[SqliteProvider, Any]:
    provider = SqliteProvider()
    return provider, provider.for_extension(name)


STATEMENTS = [
    ("execute", "CREATE TABLE hits (id INTEGER PRIMARY KEY, path TEXT)", None),
    ("execute", "INSERT INTO hits (path) VALUES (:p)", {"p": "/a"}),
    ("fetch_all", "INSERT INTO hits (path) VALUES ('/b') RETURNING id, path", None),
    ("fetch_all", "UPDATE hits SET path = path || '!'", None),
    ("execute", "UPDATE hits SET path = path || '?'", None),
    ("fetch_all", "SELECT path FROM hits ORDER BY id", None),
    ("execute", "DELETE FROM hits WHERE path = 'none'", None),
    ("execute", "DROP TABLE hits", None),
]


def test_database_answers_every_statement_as_the_hosts_sqlite_does() -> None:
    """Same statements, same answers: a fake that disagrees teaches the author wrong."""
    mock = MockDatabase("demo")
    provider, host = _host_sqlite("demo")
    try:
        for method, sql, params in STATEMENTS:
            assert run(getattr(mock, method)(sql, params)) == \
                run(getattr(host, method)(sql, params)), sql
    finally:
        mock.close()
        provider.close()


def test_database_commits_fetch_all_and_counts_like_the_host() -> None:
    db = MockDatabase("demo")
    assert run(db.execute("CREATE TABLE t (x INTEGER)")) == 0  # DDL: 0, not the driver's -1
    assert run(db.fetch_all("INSERT INTO t VALUES (1) RETURNING x")) == [{"x": 1}]
    assert run(db.fetch_all("DELETE FROM t WHERE x = 9")) == []  # no rows: [], no error
    assert run(db.fetch_all("SELECT x FROM t")) == [{"x": 1}]  # the RETURNING insert stayed
    db.close()


def test_database_refuses_what_the_host_refuses() -> None:
    db = MockDatabase("demo")
    with pytest.raises(sdk.DatabaseAccessError):
        run(db.fetch_all("SELECT * FROM core.sqlite_master"))
    with pytest.raises(sdk.DatabaseAccessError):
        run(db.execute("ATTACH DATABASE ':memory:' AS other"))
    db.assert_called("execute", sql="ATTACH DATABASE ':memory:' AS other")
    db.close()


def test_database_migrations_are_the_hosts() -> None:
    db = MockDatabase("demo")
    migrations = [sdk.Migration(version=1, description="t", up="CREATE TABLE t (x INTEGER)",
                                down="DROP TABLE t")]
    assert db.migrate(migrations) == [1]
    assert [m.version for m in db.applied()] == [1]
    assert db.downgrade(migrations, 0) == [1]
    db.close()


def test_database_is_the_hosts_database_over_its_own_engine() -> None:
    db = MockDatabase("demo")
    assert isinstance(db, IsolatedDatabase)
    run(db.execute("CREATE TABLE hits (path TEXT)"))
    assert run(db.fetch_all("SELECT count(*) AS n FROM hits")) == [{"n": 0}]
    db.close()
    db.close()  # idempotent


def test_config_hands_out_copies_and_notifies_on_replace() -> None:
    config = MockConfig({"limits": {"max": 3}})
    config.get("limits")["max"] = 99
    assert config.all() == {"limits": {"max": 3}}
    seen: list[dict[str, Any]] = []
    config.on_change(lambda section: seen.append(dict(section)))
    config.replace({"limits": {"max": 5}})
    assert seen == [{"limits": {"max": 5}}]
    assert config.get("limits") == {"max": 5}
    assert config.get("missing", "default") == "default"
    config.assert_called("get", key="missing", default="default")


def test_metrics_accumulate_per_labels_and_refuse_misuse() -> None:
    metrics = MockMetrics()
    metrics.inc("hits", path="/a")
    metrics.inc("hits", 2, path="/a")
    metrics.inc("hits", path="/b")
    metrics.gauge("queue", 4)
    metrics.gauge("queue", 2)
    metrics.observe("latency", 0.1)
    metrics.observe("latency", 0.3)
    assert metrics.counter_value("hits", path="/a") == 3.0
    assert metrics.counter_value("hits", path="/b") == 1.0
    assert metrics.gauge_value("queue") == 2
    assert metrics.observations("latency") == [0.1, 0.3]
    with pytest.raises(ValueError, match="is a counter"):
        metrics.gauge("hits", 1, path="/a")
    with pytest.raises(ValueError, match="must match"):
        metrics.inc("bad name")
    with pytest.raises(ValueError, match="label 'extension' is not allowed"):
        metrics.inc("other", extension="x")
    metrics.assert_called("inc", name="hits", value=2, path="/a")


def test_audit_records_entries_and_checks_types() -> None:
    audit = MockAudit()
    audit.record(1, "page.delete", {"path": "/a"})
    audit.record(None, "cron.run", {})
    assert [(r.user_id, r.action, dict(r.metadata)) for r in audit.records] == [
        (1, "page.delete", {"path": "/a"}),
        (None, "cron.run", {}),
    ]
    with pytest.raises(TypeError, match="user_id"):
        audit.record("1", "x", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        audit.record(1, "", {})
    audit.assert_called("record", user_id=1, action="page.delete")
