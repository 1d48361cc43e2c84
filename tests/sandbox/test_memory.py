"""The memory cap stops a big allocation yet leaves the web stack room to work."""

from __future__ import annotations

import resource
import sys

from dufflebag_harness.outside.sandbox import SandboxSpec, SandboxStatus

from ._helpers import BASE_ENV, run_inside

#: bytes(n) is calloc'ed: the pages are reserved, not touched, so the control run
#: under a large cap is cheap while the capped run is refused at allocation time.
ALLOCATE_2GB = "b = bytes(2 * 1024 ** 3); print('allocated', len(b))"

#: What a worker does: import the stack and run anyio's 40 worker threads (each
#: thread reserves an 8 MB stack, which RLIMIT_DATA counts).
WEB_STACK = r'''
import threading, time, resource
import starlette, sqlalchemy, uvicorn, httpx
threads = [threading.Thread(target=time.sleep, args=(0.2,)) for _ in range(40)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(resource.getrlimit(resource.RLIMIT_DATA)[0] // (1024 * 1024), "ok")
'''


def test_a_2gb_allocation_fails_under_a_512mb_cap(sandbox_status: SandboxStatus) -> None:
    ran = run_inside(SandboxSpec(env=BASE_ENV, memory_mb=512), ALLOCATE_2GB)
    assert ran.returncode != 0
    assert ran.stderr.strip().splitlines()[-1] == "MemoryError", ran.stderr
    assert "allocated" not in ran.stdout


def test_the_same_allocation_succeeds_under_a_larger_cap(sandbox_status: SandboxStatus) -> None:
    """The control: the 512 MB run fails because of the cap, not for another reason."""
    ran = run_inside(SandboxSpec(env=BASE_ENV, memory_mb=4096), ALLOCATE_2GB)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["allocated", str(2 * 1024 ** 3)]


def test_the_web_stack_works_under_512mb(sandbox_status: SandboxStatus) -> None:
    ran = run_inside(SandboxSpec(env=BASE_ENV, memory_mb=512), WEB_STACK, python=sys.executable)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["512", "ok"]


def test_the_cap_cannot_be_raised_from_inside(sandbox_status: SandboxStatus) -> None:
    script = ("import resource; r = resource.RLIMIT_DATA\n"
              "try:\n    resource.setrlimit(r, (resource.RLIM_INFINITY,) * 2)\n"
              "except (ValueError, OSError) as exc:\n    print('refused')\n"
              "print(resource.getrlimit(r)[1])")
    ran = run_inside(SandboxSpec(env=BASE_ENV, memory_mb=256), script)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["refused", str(256 * 1024 * 1024)]
    assert resource.getrlimit(resource.RLIMIT_DATA)[0] != 256 * 1024 * 1024  # parent untouched
