"""The certification level, the summary and waivers: the rules that decide a verdict.

Kept free of the checks and the host so that ``verify`` can recompute the level
from nothing but the signed report. The required set comes from the catalog
embedded in the report, never from what was run, so a run that skipped or
omitted a required pair cannot certify.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dufflebag_harness.reports.model import (
    CatalogCheck,
    Level,
    ResultDict,
    Summary,
    WaiverRecord,
    make_result,
    sort_results,
)

__all__ = [
    "LEVEL_RANK",
    "SANDBOX_NAMESPACES",
    "Standing",
    "WaiverInvalid",
    "apply_waivers",
    "compute_level",
    "fill_unplanned",
    "level_refusal",
    "required_gaps",
    "required_pairs",
    "sandbox_shortfall",
    "signer_refusal",
    "standing",
    "summary",
    "waived_pairs",
]

#: Higher is better; ``verify --require-level`` compares ranks.
LEVEL_RANK: dict[str, int] = {"failed": 0, "provisional": 1, "certified": 2}

_WAIVER_CHECK = re.compile(r"^[A-Z]{2}-[0-9]{2}(@(mock|sqlite|postgresql))?$")


class WaiverInvalid(ValueError):
    """A waiver entry is malformed; the message names the entry and the field."""


def _pair(result: Mapping[str, Any]) -> str:
    return f"{result['check']}@{result['backend']}"


def required_pairs(catalog_checks: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every ``ID@backend`` pair of a required check in the catalog, sorted."""
    return sorted(
        f"{c['id']}@{b}" for c in catalog_checks if c["severity"] == "required"
        for b in c["backends"]
    )


def required_gaps(
    results: Iterable[Mapping[str, Any]], catalog_checks: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Required pairs of the catalog that have no result at all (sorted)."""
    seen = {_pair(r) for r in results}
    return [p for p in required_pairs(catalog_checks) if p not in seen]


#: Namespaces a sandbox must have had for a run to certify: its own users, processes,
#: filesystem view, network and IPC.
SANDBOX_NAMESPACES = frozenset({"ipc", "mnt", "net", "pid", "user"})


def sandbox_shortfall(worker: Mapping[str, Any]) -> str | None:
    """Why the worker section of a report does not show the sandbox certification
    requires (``None`` when it does)."""
    sandbox = worker.get("sandbox")
    if not isinstance(sandbox, Mapping):
        return "extension code ran without a sandbox"
    missing = SANDBOX_NAMESPACES - set(sandbox.get("namespaces") or ())
    if missing:
        return f"the sandbox lacked the {', '.join(sorted(missing))} namespace(s)"
    if sandbox.get("network") != "none":
        return f"the sandbox had network {sandbox.get('network')!r}"
    return None


def compute_level(
    results: Iterable[Mapping[str, Any]],
    catalog_checks: Iterable[Mapping[str, Any]],
    profile: str,
    only: Sequence[str] | None,
    *,
    sandboxed: bool,
) -> Level:
    """``failed`` if a required pair failed or errored; ``certified`` if every
    required pair of the catalog passed on the full profile without ``--only``, with
    extension code in the sandbox; otherwise ``provisional`` (skipped, flaky or missing
    required pairs, or no sandbox).

    Severity is taken from the catalog, so a result cannot make itself advisory.
    Advisory results never change the level. A catalog without any required
    pair certifies nothing.
    """
    status = {_pair(r): r["status"] for r in results}
    required = required_pairs(catalog_checks)
    if any(status.get(p) in ("fail", "error") for p in required):
        return "failed"
    if (
        required
        and profile == "full"
        and only is None
        and sandboxed
        and all(status.get(p) == "pass" for p in required)
    ):
        return "certified"
    return "provisional"


def summary(results: Iterable[Mapping[str, Any]]) -> Summary:
    """Counts by status, and how many required results there are and passed."""
    counts: Summary = {
        "pass": 0,
        "fail": 0,
        "error": 0,
        "skipped": 0,
        "flaky": 0,
        "required_total": 0,
        "required_passed": 0,
    }
    for r in results:
        counts[r["status"]] += 1  # type: ignore[literal-required]
        if r["severity"] == "required":
            counts["required_total"] += 1
            if r["status"] == "pass":
                counts["required_passed"] += 1
    return counts


def fill_unplanned(
    results: Iterable[ResultDict], catalog_checks: Iterable[CatalogCheck], reason: str
) -> list[ResultDict]:
    """Add a ``skipped`` result (with ``reason``) for every catalog pair that has none.

    A report must account for every pair of its catalog; a run with ``--only``
    or the quick profile records the rest as skipped, which is never a pass.
    """
    if not reason:
        raise ValueError("fill_unplanned: a reason is required (e.g. 'not selected by --only')")
    out = list(results)
    seen = {_pair(r) for r in out}
    for c in catalog_checks:
        for backend in c["backends"]:
            if f"{c['id']}@{backend}" not in seen:
                out.append(
                    make_result(c["id"], backend, "skipped", c["severity"], title=c["title"],
                                reason=reason)
                )
    return sort_results(out)


def _waiver_fields(index: int, raw: Mapping[str, Any]) -> tuple[str, str, date]:
    where = f"waivers[{index}]"
    if not isinstance(raw, Mapping):
        raise WaiverInvalid(f"{where}: must be a table with check, reason and expires")
    check = raw.get("check")
    if not isinstance(check, str) or not _WAIVER_CHECK.match(check):
        raise WaiverInvalid(f"{where}.check: must be a check ID like 'PE-02' or 'PE-02@sqlite'")
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        raise WaiverInvalid(f"{where}.reason: must be a string")
    expires = raw.get("expires")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            raise WaiverInvalid(
                f"{where}.expires: {expires!r} is not a date (YYYY-MM-DD)"
            ) from None
    if not isinstance(expires, date):
        raise WaiverInvalid(f"{where}.expires: must be a date (YYYY-MM-DD)")
    if isinstance(expires, datetime):  # a TOML datetime: keep the calendar day
        expires = expires.date()
    return check, reason.strip(), expires


def apply_waivers(
    results: Iterable[Mapping[str, Any]],
    waivers: Sequence[Mapping[str, Any]],
    today: date,
    *,
    catalog_checks: Iterable[Mapping[str, Any]] | None = None,
) -> list[WaiverRecord]:
    """Decide which waivers apply; return the report's ``waivers`` records.

    A waiver applies only to an advisory check, needs a reason, and lapses after
    its ``expires`` day. A waiver on a required check is refused: it is recorded
    with ``applied: false`` and a note. Severity comes from the catalog when
    given (else from the results), so a waiver cannot be aimed at a required
    check by relabelling it. Waivers never change the level (advisory results
    do not count); renderers show the results they cover as waived. Malformed
    entries raise :class:`WaiverInvalid` naming the entry and field.
    """
    source = catalog_checks if catalog_checks is not None else (
        {"id": r["check"], "severity": r["severity"]} for r in results)
    severity = {c["id"]: c["severity"] for c in source}
    records: list[WaiverRecord] = []
    for index, raw in enumerate(waivers):
        check, reason, expires = _waiver_fields(index, raw)
        check_id = check.partition("@")[0]
        note = ""
        if check_id not in severity:
            note = f"{check_id} is not a check of this catalog (or did not run)"
        elif severity[check_id] == "required":
            note = f"{check_id} is a required check; waivers apply to advisory checks only"
        elif not reason:
            note = "a waiver needs a reason"
        elif expires < today:
            note = f"expired on {expires.isoformat()}"
        record: WaiverRecord = {
            "check": check,
            "reason": reason[:2000],
            "expires": expires.isoformat(),
            "applied": not note,
        }
        if note:
            record["note"] = note
        records.append(record)
    return records


def waived_pairs(
    results: Iterable[Mapping[str, Any]], waivers: Iterable[Mapping[str, Any]]
) -> set[str]:
    """Pairs (``ID@backend``) not passed and covered by an applied waiver."""
    applied = {w["check"] for w in waivers if w.get("applied")}
    return {
        _pair(r) for r in results
        if r["status"] != "pass" and (r["check"] in applied or _pair(r) in applied)
    }


def level_refusal(report: Mapping[str, Any], require_level: str) -> str | None:
    """Why ``verify --require-level REQUIRE_LEVEL`` refuses the report's level (its
    sentence), or ``None`` when the level is enough.

    The one rule both ``verify`` and every rendering apply: the level must rank at
    least as high as required, and level certified also needs the sandbox on record.
    """
    level = str(report["level"])
    if LEVEL_RANK[level] < LEVEL_RANK[require_level]:
        return f"the report's level is {level}, below the required {require_level}"
    shortfall = sandbox_shortfall(report["environment"]["worker"])
    if require_level == "certified" and shortfall is not None:
        return f"the report is certified, but {shortfall}, which level certified requires"
    return None


def signer_refusal(report: Mapping[str, Any]) -> str | None:
    """Why a marketplace would not accept who signed the report, or ``None``.

    ``verify`` refuses an unsigned bundle outright, and a development key can verify
    only against a keyring that holds it, which a marketplace's never does (its user ID
    says so). Whether a real key is in a given keyring only ``verify`` can tell.
    """
    signer = report.get("signer")
    if signer is None:
        return "unsigned bundle: nothing vouches for it until `dufflebag-cert sign` signs it"
    if signer.get("development_key"):
        return "signed with a development key, which no marketplace keyring trusts"
    return None


@dataclass(frozen=True)
class Standing:
    """How a report stands before ``verify --require-level certified``: what every
    rendering puts first, so none shows a bare *certified* that ``verify`` would refuse.

    ``level`` is the report's level as recorded; ``level_problem`` and
    ``signer_problem`` are the sentences of :func:`level_refusal` and
    :func:`signer_refusal` (``None`` when nothing on the report stands in the way; the
    signature itself is ``verify``'s to check).
    """

    level: str
    level_problem: str | None
    signer_problem: str | None

    @property
    def obstacles(self) -> tuple[str, ...]:
        """Every reason ``verify --require-level certified`` would refuse the report."""
        return tuple(p for p in (self.level_problem, self.signer_problem) if p is not None)

    @property
    def marketplace_valid(self) -> bool:
        return not self.obstacles

    @property
    def tone(self) -> str:
        """The colour class: ``certified`` only when nothing stands in the way; a
        certified level with an obstacle reads ``provisional`` (amber), never green."""
        if self.level == "certified" and self.obstacles:
            return "provisional"
        return self.level

    @property
    def headline(self) -> str:
        """A few words: ``certified``, ``passed all checks``, ``provisional``, ``failed``."""
        if self.level == "certified" and self.obstacles:
            return "passed all checks"
        return self.level

    @property
    def caveats(self) -> tuple[str, ...]:
        """The obstacles the headline does not already say (a level below certified
        is the headline itself)."""
        if self.level != "certified":
            return () if self.signer_problem is None else (self.signer_problem,)
        return self.obstacles

    @property
    def verdict(self) -> str:
        """What ``verify --require-level certified`` would make of the report, in one
        line: the headline and, unless it is marketplace-valid, why not."""
        if self.marketplace_valid:
            return f"{self.headline} — marketplace-valid once `dufflebag-cert verify` " \
                   "accepts its signature"
        caveats = self.caveats
        return f"{self.headline} — not marketplace-valid" + (
            f": {'; '.join(caveats)}" if caveats else "")


def standing(report: Mapping[str, Any]) -> Standing:
    """The :class:`Standing` of ``report`` (a validated report dict)."""
    return Standing(str(report["level"]), level_refusal(report, "certified"),
                    signer_refusal(report))
