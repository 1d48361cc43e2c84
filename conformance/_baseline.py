"""One fault, one name: a route that already fails alone is not judged again under load.

The load, memory, concurrency and configuration checks compare what the extension
does under their stress with what it does alone. A route that answers a server
error with nothing else running has a fault of its own, which FZ-01 (fuzzed
requests never get a 5xx) names. Judging it again would report that one fault
under four more titles ("server error under concurrency", "memory: answers 501
even without load", "102 of 51 configurations crashed"), and point the author at
the wrong code. Those checks call :func:`require_working_alone` on the answers
they took alone first: the pair is then *skipped, blocked by FZ-01*, naming the
route. A skipped required pair never certifies, so an extension gains nothing by
failing alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dufflebag_harness.conformance._perf_client import Target
from dufflebag_harness.conformance._types import CheckSkipped, HostHandle

#: The check whose title names a route that answers a server error on its own.
NAMED_BY = "FZ-01"


def answered_alone(host: HostHandle, targets: Sequence[Target]) -> dict[str, int]:
    """The status each target answers, one request at a time, nothing else running."""
    return {t.label: host.request(t.method, t.path, as_role=t.role).status_code
            for t in targets}


def require_working_alone(statuses: Mapping[str, int]) -> None:
    """Skip the calling check when any route (label → status it answered alone) fails
    alone; the reason names each such route and the check that judges it."""
    broken = {label: status for label, status in statuses.items() if status >= 500}
    if broken:
        listed = ", ".join(f"{label} answers {status}" for label, status in sorted(broken.items()))
        raise CheckSkipped(f"blocked by {NAMED_BY}: {listed} without any load (a route that "
                           f"fails alone is {NAMED_BY}'s finding, not judged again here)")


__all__ = ["NAMED_BY", "answered_alone", "require_working_alone"]
