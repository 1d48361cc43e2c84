"""FZ — API fuzzing: schemathesis, driven by the parent over loopback, on the extension's routes.

Every operation the host documents under ``/ext/{name}/`` is called with
generated requests — valid and invalid — as a seeded user the route admits. The
host runs with auto-disable effectively off so a fuzz-induced 500 cannot hide
the ones after it, and requests are paced under the extension's own
``requests_per_second`` quota so its handlers, not the rate limiter, answer.
Examples per operation: ~10 in ``quick``, ~50 in ``full`` (plus schemathesis'
boundary-value cases); the seed is the run's.

What is judged, and what is not:

* FZ-01: no answer is a 5xx (schemathesis ``not_a_server_error``).
* FZ-02: answers with a *documented* status match what is documented for it:
  body schema, media type, documented headers (``response_schema_conformance``,
  ``content_type_conformance``, ``response_headers_conformance``); and when the
  author documented the success answers, no other 2xx is given.
  Undocumented 4xx are not judged: they are the host's refusals (400 refused
  path, 401/403 auth, 404, 405, 413, 422, 429 — the host documents the ones it
  can predict) or the extension rejecting invalid input, which is what it
  should do. Undocumented 5xx belong to FZ-01. So schemathesis'
  ``status_code_conformance`` is not used.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from dufflebag_harness.conformance._fuzz_engine import (
    FuzzFailure,
    FuzzRun,
    Operation,
    author_documents_success,
    documented,
    extension_document,
    operations,
    run_fuzz,
)
from dufflebag_harness.conformance._probing import require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed

#: Generated examples per operation and phase, by profile.
EXAMPLES = {"quick": 10, "full": 50}
#: A threshold no fuzz run reaches: auto-disable would turn later answers into 404s.
NO_AUTO_DISABLE = {"failure_threshold": 100000}
#: Failures quoted in full in the evidence (the rest are counted by operation).
QUOTED = 2

SERVER_ERROR_CHECKS = ("not_a_server_error",)
CONFORMANCE_CHECKS = ("response_schema_conformance", "content_type_conformance",
                      "response_headers_conformance")


def _reproduce(ctx: CheckContext) -> str:
    return (f"dufflebag-cert certify {shlex.quote(str(ctx.manifest.root))} "
            f"--only {ctx.check_id} --profile {ctx.profile} --seed {ctx.seed}")


def _fuzz(ctx: CheckContext, checks: Sequence[str],
          figure: str) -> tuple[list[Operation], FuzzRun]:
    host = ctx.host(options=NO_AUTO_DISABLE)
    require_loaded(host, ctx.extension)
    doc = extension_document(host.base_url, ctx.extension)
    ops = operations(doc)
    examples = EXAMPLES.get(ctx.profile, EXAMPLES["quick"])
    rate = max(int(ctx.manifest.quotas.requests_per_second), 0)
    run = FuzzRun()
    if ops:
        run = run_fuzz(host.base_url, doc, host.tokens, checks=checks,
                       max_examples=examples, seed=ctx.seed, rate_limit=rate)
    ctx.figure(figure, {"operations": len(ops), "cases": run.cases,
                        "failures": len(_distinct(run.failures)), "seed": ctx.seed,
                        "examples_per_operation": examples, "rate_limit_per_s": rate})
    return ops, run


def _distinct(failures: Sequence[FuzzFailure]) -> list[FuzzFailure]:
    """One failure per operation, check, status and message (the engine repeats them)."""
    seen: dict[tuple[str, str, str, int | None, str], FuzzFailure] = {}
    for f in failures:
        seen.setdefault((f.operation, f.check, f.title, f.status, f.message[:200]), f)
    return list(seen.values())


def _fail(ctx: CheckContext, what: str, failures: Sequence[FuzzFailure]) -> None:
    distinct = _distinct(failures)
    first = distinct[0]
    by_op: dict[str, list[str]] = {}
    for f in distinct:
        by_op.setdefault(f.operation, []).append(f"{f.title} ({f.status})")
    raise CheckFailed(
        f"{len(distinct)} {what} (e.g. {first.operation}: {first.title}, HTTP {first.status}); "
        f"reproduce: {_reproduce(ctx)}",
        {"reproduce": _reproduce(ctx), "by_operation": by_op,
         "failures": [f.to_json() for f in distinct[:QUOTED]]},
    )


def _unfuzzable(ctx: CheckContext, run: FuzzRun) -> None:
    if run.errors:
        raise CheckFailed(
            f"{len(run.errors)} operation(s) could not be fuzzed: {run.errors[0]}",
            {"errors": run.errors[:5], "reproduce": _reproduce(ctx)},
        )


@check(id="FZ-01", title="Fuzzed requests to the extension's routes never get a 5xx",
       requires=("REQ-1.2", "REQ-6.1"), severity=REQUIRED, profiles=("full",))
def no_server_errors(ctx: CheckContext) -> None:
    """Validate every input yourself and answer bad input with a 4xx (422 with a JSON
    error, documented in the route's `openapi`); never let a parse error or a missing
    key escape as an exception."""
    _, run = _fuzz(ctx, SERVER_ERROR_CHECKS, "fuzz.server_errors")
    failures = [f for f in run.failures if f.check in SERVER_ERROR_CHECKS]
    if failures:
        _fail(ctx, "server error(s) under fuzzing", failures)
    _unfuzzable(ctx, run)


def _undocumented_success(ops: Sequence[Operation], run: FuzzRun) -> list[FuzzFailure]:
    out = []
    for op in ops:
        if not author_documents_success(op):
            continue
        for status in sorted(run.statuses.get(op.label, ())):
            if 200 <= status < 300 and not documented(op, status):
                out.append(FuzzFailure(
                    operation=op.label, check="documented_success_status",
                    title="Undocumented success status", status=status, curl="",
                    message=f"answered {status}; documented: {sorted(map(str, op.responses))}"))
    return out


@check(id="FZ-02", title="Answers with a documented status match their documented schema",
       requires=("REQ-1.2", "REQ-9.3"), severity=REQUIRED, profiles=("full",))
def documented_answers(ctx: CheckContext) -> None:
    """Describe every answer in the route's `openapi` (status, media type, JSON Schema)
    and keep answers within it: no `null` where a number is promised, no missing
    required fields, no success status you did not document."""
    ops, run = _fuzz(ctx, CONFORMANCE_CHECKS, "fuzz.schema_conformance")
    failures = [f for f in run.failures if f.check in CONFORMANCE_CHECKS]
    failures += _undocumented_success(ops, run)
    if failures:
        _fail(ctx, "answer(s) differ from the documented API", failures)
    _unfuzzable(ctx, run)
