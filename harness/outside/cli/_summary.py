"""What a finished ``certify`` tells its user: the last console line and ``--json``.

Both come from one :class:`RunSummary`, so the line a person reads and the JSON a
machine parses never disagree. Its centre is the question a certification is run to
answer: would the marketplace's ``dufflebag-cert verify --require-level certified``
accept this report, and if not, why and what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dufflebag_harness.outside.runner.progress import one_line
from dufflebag_harness.reports.model import docs_link

__all__ = ["Problem", "RunSummary", "summarize", "verify_problems"]

#: Pairs named in a reason before "and N more".
_SHOWN = 3


@dataclass(frozen=True)
class Problem:
    """One reason ``verify --require-level certified`` would refuse the report, with
    what to do; ``causes`` say what lies behind it (a level below certified)."""

    reason: str
    fix: str
    causes: tuple[Problem, ...] = ()

    def __str__(self) -> str:
        if self.causes:
            return f"{self.reason}: " + "; ".join(str(c) for c in self.causes)
        return f"{self.reason} (fix: {self.fix})"


@dataclass(frozen=True)
class RunSummary:
    """A finished run as ``certify`` reports it (``--json`` prints :meth:`as_json`)."""

    extension: str
    version: str
    level: str
    exit_code: int
    counts: Mapping[str, int]
    problems: Sequence[Problem]
    failed: Sequence[Mapping[str, str]]
    out_dir: Path
    files: Mapping[str, Path] = field(default_factory=dict)
    signed: bool = True
    fingerprint: str = ""

    @property
    def would_verify(self) -> bool:
        return not self.problems

    def last_line(self) -> str:
        """The level and what ``verify --require-level certified`` would say."""
        c = self.counts
        counts = (f"{c.get('pass', 0)} passed, {c.get('fail', 0)} failed, "
                  f"{c.get('error', 0)} errors, {c.get('skipped', 0)} skipped"
                  + (f", {c['flaky']} flaky" if c.get("flaky") else ""))
        asked = "a marketplace's `verify --require-level certified`"
        if self.would_verify:
            verdict = (f"{asked} would accept this report, its keyring holding the signing "
                       f"key {self.fingerprint}")
        else:
            verdict = (f"{asked} would refuse this report: "
                       + "; ".join(str(p) for p in self.problems))
        return f"Level: {self.level} ({counts}) — {verdict}"

    def as_json(self) -> str:
        return json.dumps({
            "extension": {"name": self.extension, "version": self.version},
            "level": self.level,
            "exit_code": self.exit_code,
            "would_verify": self.would_verify,
            "would_verify_reason": ("; ".join(p.reason for p in self.problems)
                                    if self.problems else None),
            "would_verify_problems": [
                {"reason": p.reason, "fix": p.fix,
                 "causes": [{"reason": c.reason, "fix": c.fix} for c in p.causes]}
                for p in self.problems],
            "counts": dict(self.counts),
            "failed": list(self.failed),
            "report": {
                "dir": str(self.out_dir),
                "signed": self.signed,
                "files": {name: str(path) for name, path in self.files.items()},
            },
        }, indent=2, ensure_ascii=False)


def _pairs(results: Sequence[Mapping[str, Any]]) -> str:
    names = [f"{r['check']}@{r['backend']}" for r in results]
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _level_causes(report: Mapping[str, Any]) -> list[Problem]:
    """What kept the level below certified, each with what to do about it."""
    from dufflebag_harness.reports.levels import sandbox_shortfall

    required = [r for r in report.get("results", []) if r.get("severity") == "required"]
    out: list[Problem] = []
    broken = [r for r in required if r["status"] in ("fail", "error")]
    if broken:
        out.append(Problem(f"{len(broken)} required pair(s) failed or errored "
                           f"({_pairs(broken)})",
                           "fix each as its line above says"))
    run = report.get("run", {})
    if run.get("only"):
        out.append(Problem("only the checks named by --only ran", "certify without --only"))
    if run.get("profile") == "quick":
        out.append(Problem("the quick profile ran", "certify with --profile full"))
    shortfall = sandbox_shortfall(report.get("environment", {}).get("worker", {}))
    if shortfall is not None:
        out.append(Problem(shortfall, "certify where the sandbox works (the warning above "
                                      "names the fix)"))
    if not run.get("only") and run.get("profile") != "quick":
        unfinished = [r for r in required if r["status"] in ("skipped", "flaky")]
        if unfinished:
            first = one_line(unfinished[0].get("reason") or unfinished[0]["status"], 160)
            out.append(Problem(f"{len(unfinished)} required pair(s) did not pass "
                               f"({_pairs(unfinished)}; the first: {first})",
                               "remove the cause their reasons name, then certify again"))
    return out


def verify_problems(report: Mapping[str, Any], out_dir: Path,
                    artifact: Path) -> list[Problem]:
    """What stands between this report and ``verify --require-level certified`` with a
    marketplace's keyring (the rule is :func:`~dufflebag_harness.reports.levels.standing`;
    this adds the causes and what to do); empty when nothing on the report does."""
    from dufflebag_harness.reports.levels import standing

    st = standing(report)
    out: list[Problem] = []
    if st.level_problem is not None:
        causes = _level_causes(report)
        out.append(Problem(st.level_problem,
                           "; ".join(c.fix for c in causes) or "see report.html",
                           tuple(causes)))
    if st.signer_problem is not None:
        if report.get("signer") is None:
            fix = (f"sign it with `dufflebag-cert sign {out_dir} --artifact {artifact}` where "
                   "the marketplace key is")
        else:
            fix = ("sign with the marketplace key: certify with DUFFLEBAG_SIGNING_KEY naming "
                   "it (`dufflebag-cert keys list`), or certify --unsigned and run "
                   "`dufflebag-cert sign` where that key is")
        out.append(Problem(st.signer_problem, fix))
    return out


def _failed(report: Mapping[str, Any], fix_of: Callable[[str], str]) -> list[dict[str, str]]:
    return [
        {"check": r["check"], "backend": r["backend"], "status": r["status"],
         "severity": r["severity"], "title": r.get("title", ""),
         "reason": r.get("reason", ""),
         "fix": one_line(r.get("fix") or fix_of(r["check"])),
         "docs": r.get("docs") or docs_link(r["check"])}
        for r in report.get("results", []) if r["status"] in ("fail", "error")
    ]


def summarize(report: Mapping[str, Any], *, exit_code: int, out_dir: Path,
              files: Sequence[Path], artifact: Path,
              fix_of: Callable[[str], str]) -> RunSummary:
    """The summary of a finished run whose report is ``report``."""
    extension = report.get("extension", {})
    return RunSummary(
        extension=str(extension.get("name", "")), version=str(extension.get("version", "")),
        level=str(report["level"]), exit_code=int(exit_code),
        counts={k: int(v) for k, v in report.get("summary", {}).items()},
        problems=verify_problems(report, out_dir, artifact),
        failed=_failed(report, fix_of), out_dir=out_dir,
        files={p.name: p for p in files}, signed=report.get("signer") is not None,
        fingerprint=str((report.get("signer") or {}).get("fingerprint", "")),
    )
