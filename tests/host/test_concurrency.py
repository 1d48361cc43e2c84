"""Enable/disable from another thread while serving: no 5xx, no crossed answers."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio

from ._helpers import Echo, run, serve


def test_toggling_from_another_thread_under_load(tmp_path: Path) -> None:
    names = [f"ext{i}" for i in range(10)]

    async def body() -> None:
        async with serve(tmp_path, *(Echo(n) for n in names)) as (host, client):
            stop = threading.Event()
            toggles = 0

            def toggler() -> None:
                nonlocal toggles
                while not stop.is_set():
                    host.disable("ext3")
                    host.enable("ext3")
                    toggles += 1

            thread = threading.Thread(target=toggler)
            thread.start()
            seen: list[tuple[str, int, int, object]] = []

            async def hammer(name: str) -> None:
                for i in range(15):
                    r = await client.get(f"/ext/{name}/items/{i}")
                    seen.append((name, i, r.status_code, r.json()))

            try:
                async with anyio.create_task_group() as tg:
                    for name in names:
                        tg.start_soon(hammer, name)
            finally:
                stop.set()
                thread.join()
            assert toggles > 0
            for name, i, status, payload in seen:
                if status == 200:
                    assert payload == {"ext": name, "id": i}
                else:
                    assert (name, status) == ("ext3", 404)
            assert sum(1 for n, _, s, _ in seen if s == 200 and n != "ext3") == 9 * 15

    run(body())
