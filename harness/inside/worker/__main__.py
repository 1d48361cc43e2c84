"""Worker entry point::

    python -I -m dufflebag_harness.inside.worker --cmd-fd R --reply-fd W --listen-fds A,B,...

The listening sockets come from the parent: inside the sandbox there is no network
the parent could reach, so hosts serve on sockets the parent made and connects to.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dufflebag_harness.inside.worker")
    parser.add_argument("--cmd-fd", type=int, required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    parser.add_argument("--listen-fds", required=True,
                        help="comma-separated fds of listening TCP sockets for hosts")
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from dufflebag_harness.inside.worker._monitor import install

    install()  # audit hooks before any extension import: a detector of capability use
    from dufflebag_harness.inside.worker._server import WorkerServer

    listeners = [int(fd) for fd in ns.listen_fds.split(",") if fd]
    code = WorkerServer(listeners).serve(ns.cmd_fd, ns.reply_fd)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # do not wait for extension threads: the parent judged already


if __name__ == "__main__":
    main()
