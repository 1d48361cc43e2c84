"""Database fixtures in async tests (awaited directly) and in plain ones (``.sync``)."""

from __future__ import annotations

from pathlib import Path

from ._project import new_project, outcomes, run_pytest

NOTES = "/ext/hello/notes"

AUTHOR_TESTS = '''
    import threading

    import pytest
    from dufflebag_harness.fixtures.testing import HostClient, HostDatabase, Portal
    from hello.extension import Hello

    NOTES = "/ext/hello/notes"


    async def test_async_awaits_the_database(dufflebag_db: HostDatabase) -> None:
        assert await dufflebag_db.fetch_all("select 1 as one") == [{"one": 1}]


    async def test_async_runs_on_the_hosts_loop(dufflebag_client: HostClient,
                                                dufflebag_db: HostDatabase,
                                                dufflebag_instance: Hello) -> None:
        assert threading.current_thread() is not threading.main_thread()
        created = await dufflebag_client.apost(NOTES, json={"text": "a"}, as_role="user")
        assert created.status_code == 201
        rows = await dufflebag_db.fetch_all("SELECT text FROM notes")
        assert rows == [{"text": "a"}]
        assert (await dufflebag_client.aget(NOTES)).status_code == 401
        assert dufflebag_instance.settings["greeting"] == "Hello"


    async def test_async_failure_is_reported(dufflebag_db: HostDatabase) -> None:
        assert await dufflebag_db.fetch_all("select 2 as two") == [{"two": 3}]


    async def test_async_without_fixtures_still_runs() -> None:
        import anyio
        await anyio.sleep(0)
        raise AssertionError("reached the end")


    async def test_sync_view_refuses_inside_an_async_test(dufflebag_db: HostDatabase) -> None:
        with pytest.raises(RuntimeError):
            dufflebag_db.sync.fetch_all("select 1")


    def test_sync_view_in_a_plain_test(dufflebag_client: HostClient,
                                       dufflebag_db: HostDatabase) -> None:
        dufflebag_client.post(NOTES, json={"text": "b"}, as_role="user")
        assert dufflebag_db.sync.fetch_all("SELECT text FROM notes") == [{"text": "b"}]
        assert dufflebag_db.sync.execute("DELETE FROM notes") == 1
        assert dufflebag_client.get(NOTES, as_role="user").json() == {"notes": []}
        assert [m.version for m in dufflebag_db.applied()] == [1]


    def test_the_portal_form_still_works(dufflebag_db: HostDatabase,
                                         dufflebag_portal: Portal) -> None:
        assert dufflebag_portal.call(dufflebag_db.fetch_all, "select 1 as one") == [{"one": 1}]


    @pytest.mark.anyio
    async def test_marked_for_anyio_is_left_to_it(dufflebag_db: HostDatabase) -> None:
        assert threading.current_thread() is threading.main_thread()
        assert await dufflebag_db.fetch_all("select 1 as one") == [{"one": 1}]


    @pytest.fixture
    def anyio_backend() -> str:
        return "asyncio"
'''


def test_async_and_sync_tests_reach_the_database(tmp_path: Path) -> None:
    root = new_project(tmp_path, files={"tests/test_author.py": AUTHOR_TESTS})
    junit = tmp_path / "junit.xml"
    run = run_pytest(root, "tests/test_author.py", "--dufflebag-backends=sqlite",
                     f"--junitxml={junit}")
    assert outcomes(junit) == {
        "test_async_awaits_the_database[sqlite]": "passed",
        "test_async_runs_on_the_hosts_loop[sqlite]": "passed",
        "test_async_failure_is_reported[sqlite]": "failed",
        "test_async_without_fixtures_still_runs": "failed",
        "test_sync_view_refuses_inside_an_async_test[sqlite]": "passed",
        "test_sync_view_in_a_plain_test[sqlite]": "passed",
        "test_the_portal_form_still_works[sqlite]": "passed",
        "test_marked_for_anyio_is_left_to_it[sqlite]": "passed",
    }, run.stdout + run.stderr
    assert "assert [{'two': 2}] == [{'two': 3}]" in run.stdout
    assert "reached the end" in run.stdout
    assert "async def functions are not natively supported" not in run.stdout
