"""A bubblewrap sandbox for the process that imports extension code.

The certifying parent holds signing keys; the worker runs untrusted code. This
package starts a command in Linux namespaces made by ``bwrap`` so that the command
sees only what it needs, and nothing of the parent. It never imports extension code.

    status = detect_sandbox()                       # cached; runs a tiny probe sandbox
    spec = SandboxSpec(env=env, cwd=f"{work}/cwd", rw_binds=(str(work),), memory_mb=512)
    proc = start(spec, [sys.executable, "-I", "-m", "dufflebag_harness.inside.worker",
                        "--cmd-fd", str(r), "--reply-fd", str(w)],
                 pass_fds=(r, w), stdin=subprocess.DEVNULL, stdout=log,
                 stderr=subprocess.STDOUT, start_new_session=True)
    SandboxRecord.from_spec(spec, status).to_json()  # for the signed report

**What the command gets.** New user, pid, mount, network, ipc, uts and cgroup
namespaces; uid/gid 65534 inside, no capabilities, no further user namespaces,
a new session (no terminal injection). Its filesystem is only: ``/usr`` read-only
and the top-level ``/bin``, ``/lib``... links into it; its own ``/proc`` (the
parent's processes do not exist there) and a minimal ``/dev``; a private ``/tmp``
and ``/dev/shm`` (tmpfs, ``tmpfs_mb`` each); ``/etc/ld.so.cache``, ``localtime``,
CA certificates, ``openssl.cnf``, ``mime.types``; generated ``/etc/passwd``,
``group`` and ``hosts`` naming only the sandbox user and localhost; the interpreter's
prefixes read-only (e.g. ``/tmp/dev/venv``, ``/root/.pyenv/versions/3.11.7``, never
``/root`` or ``$HOME`` whole); then the caller's read-only and read-write binds. The
rest of the root is read-only. There is no network: only a loopback of its own, so
neither 1.1.1.1 nor the parent's 127.0.0.1 is reachable; sockets the parent passes
(``pass_fds``) keep working, including a listening TCP socket the parent connects to.
The environment is exactly ``spec.env``.

**Declared network targets.** ``spec.hosts`` adds names to the generated
``/etc/hosts``, each on a loopback address of its own (127.0.0.2, ...); there is no
resolver, so no other name resolves. :func:`listen_in_netns` makes listening sockets on
those addresses *inside* the sandbox's network namespace and hands them to the parent
(through a single-threaded helper that joins the namespace's owning user namespace
first: the kernel refuses a thread of an unprivileged parent, and a multi-threaded
process cannot join a user namespace; as root and as ``nobody`` alike, ports below 1024
too). The worker client serves them with recording sinks
(:mod:`dufflebag_harness.outside.network_sinks`): a TLS client there trusts a per-worker
CA because ``spec.file_binds`` lays a bundle over certifi's and ``SSL_CERT_FILE`` (and
``REQUESTS_CA_BUNDLE``) name it, in this sandbox only. Nothing leaves the machine.

**Who the command is on the host.** bwrap maps the sandbox uid to the uid that
started it. Run by root, the command is host uid 0 *without any capability*, confined
to the mounts above: root-owned files it can see are "its own" (read-only mounts
still refuse writes), and files it creates in a read-write bind belong to root. A
read-write bind therefore has to be writable by the caller's uid through its mode
bits; a folder chowned to ``nobody`` (as the setuid worker does today) is *not*
writable from a root-started sandbox, and :func:`start` refuses it up front.
Dropping bwrap itself to ``nobody`` would need every bound path to be reachable by
``nobody``, which a pyenv interpreter under ``/root`` (mode 0700) is not.

**PostgreSQL's unix socket.** ``connect()`` to a unix socket works through a
*read-only* bind of its folder (the read-only mount stops creating files, not
connecting; measured here, as root and as ``nobody``): bind the socket folder with
``ro_binds``. The socket's own mode must let the sandbox uid write to it (PostgreSQL
default 0777).

**Memory cap: RLIMIT_DATA, soft = hard, set by ``prlimit`` inside the sandbox.**
cgroups are not available (v1, not delegated), so the cap is an rlimit on the
command and its children. Measured on CPython 3.11 with Starlette, SQLAlchemy,
uvicorn and httpx imported, serving a sync endpoint to 60 concurrent clients (so
anyio's 40 worker threads all run): RSS stays ~54 MB, but VmData reaches ~380 MB
(each thread stack reserves 8 MB) and VmSize ~1.38 GB (glibc reserves 64 MB per
malloc arena). Under RLIMIT_AS 512 MB and 1024 MB the server could not start threads
("can't start new thread", stuck at 9 and 17 threads); it needed 1536 MB. Under
RLIMIT_DATA 256 MB it failed the same way at 27 threads; 384 MB and 512 MB served all
requests. RLIMIT_DATA counts heap, anonymous private mappings and thread stacks as
they are reserved, and not the PROT_NONE arena reservations nor shared libraries, so
it tracks what a program means to allocate: ``bytes(2 GiB)`` under a 512 MB cap
raises MemoryError (the parent sees it in stderr and a non-zero exit), while the
imports above need ~36 MB; children inherit the cap. Not covered: shared anonymous mappings
(``mmap.mmap(-1, n)``) and tmpfs files, which is why ``/tmp`` and ``/dev/shm`` are
sized and the root is read-only; a parent that needs a hard bound on those too should
also watch the worker's RSS. The process count is not bounded (no cgroups).

**Lifetime.** bwrap runs its own pid 1 (a reaper) in the new pid namespace. That
reaper keeps running while anything is left in the namespace, so the pid namespace
alone does *not* end a double-forked daemon. ``--die-with-parent`` does: when the
command exits, bwrap's outer process reports its status and exits, the reaper gets
SIGKILL as its parent is gone, and with the namespace's pid 1 dead the kernel kills
every process left in it. The same happens when the parent kills bwrap or dies itself.

**Cost.** One sandboxed ``python -I -c pass`` took 45 ms (median of 60) against
27 ms unsandboxed on this 2-core machine under load: bwrap's setup plus two short
execs (``env``, ``prlimit``). :func:`detect_sandbox` runs its probe once per tool.
"""

from __future__ import annotations

from dufflebag_harness.outside.sandbox._bwrap import BWRAP, NAMESPACES
from dufflebag_harness.outside.sandbox._detect import (
    SandboxStatus,
    SandboxUnavailable,
    detect_sandbox,
)
from dufflebag_harness.outside.sandbox._launch import start
from dufflebag_harness.outside.sandbox._netns import NetnsError, listen_in_netns
from dufflebag_harness.outside.sandbox._record import RLIMIT_NAME, SandboxRecord
from dufflebag_harness.outside.sandbox._spec import (
    SANDBOX_GID,
    SANDBOX_UID,
    SandboxSpec,
    SandboxSpecError,
)

__all__ = [
    "BWRAP",
    "NAMESPACES",
    "RLIMIT_NAME",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "NetnsError",
    "SandboxRecord",
    "SandboxSpec",
    "SandboxSpecError",
    "SandboxStatus",
    "SandboxUnavailable",
    "detect_sandbox",
    "listen_in_netns",
    "start",
]
