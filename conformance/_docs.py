"""``docs/checks.md``: the catalog as authors read it, generated from the registry.

For every check: ID, title, severity, backends, profiles, what blocks it,
the requirements it cites with their text (from ``docs/requirements.md``)
and how to fix a failure (the check's ``fix`` text). A test keeps the
checked-in file equal to what the registry renders, so the page can never
describe a catalog that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from dufflebag_harness.conformance._registry import Registry, catalog_version
from dufflebag_harness.conformance._types import CheckSpec

__all__ = [
    "AREA_NAMES",
    "DocsError",
    "default_requirements_path",
    "parse_requirements",
    "render_markdown",
]

#: Area code → name, as the catalog names them.
AREA_NAMES = {
    "LC": "lifecycle", "RT": "routing", "AU": "auth", "IS": "isolation", "PE": "permissions",
    "FI": "fault isolation", "HK": "hooks and middleware", "CF": "configuration",
    "DB": "migrations", "CC": "concurrency", "PF": "performance", "CV": "coverage",
    "SE": "security", "FZ": "API fuzzing", "DP": "dependencies",
}
_ROW = re.compile(r"^\|\s*((?:REQ|SC)-[A-Za-z0-9.]+)\s*\|\s*(.+?)\s*\|\s*$")


class DocsError(ValueError):
    """The docs cannot be generated as they stand (the message names what and where)."""


def default_requirements_path() -> Path:
    """``docs/requirements.md`` of the checkout the command runs in (the docs are not
    installed with the package; regenerating them is a job done in a checkout)."""
    return Path("docs") / "requirements.md"


def parse_requirements(text: str) -> dict[str, str]:
    """Requirement ID → text, from the rows of the requirements table."""
    return {m[1]: m[2] for line in text.splitlines() if (m := _ROW.match(line.strip()))}


def _requirement_text(req: str, known: Mapping[str, str], check_id: str) -> str:
    if req in known:
        return known[req]
    family = re.sub(r"\.\d+$", ".x", req)  # REQ-3.2 is covered by the row REQ-3.x
    if family in known:
        return known[family]
    raise DocsError(f"{check_id}: requirement {req} is not in docs/requirements.md")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _area_title(area: str) -> str:
    name = AREA_NAMES.get(area)
    return f"{area} — {name}" if name else area


def _check_section(spec: CheckSpec, known: Mapping[str, str]) -> list[str]:
    blockers = ", ".join(spec.blocked_by) or "—"
    lines = [
        # the heading is the ID alone, so its anchor is the stable docs/checks.md#<id>
        # every report links a result to (reports.model.docs_link)
        f"### {spec.id}",
        "",
        f"**{_cell(spec.title)}**",
        "",
        f"- **Severity:** {spec.severity.value} · **Backends:** {', '.join(spec.backends)} · "
        f"**Profiles:** {', '.join(spec.profiles)} · **Blocked by:** {blockers}"
        + (f" · **After:** {', '.join(spec.after)}" if spec.after else "")
        + (" · **Runs alone** (timing: no other check beside it)"
           if spec.exclusive else "")
        + ("" if spec.rerun_on_fail else
           " · **Never re-run** (a failure is something seen: it is never called flaky)")
        + (" · **Fresh worker** (a process no other check ran in)" if spec.fresh_worker else ""),
        "- **Requirements:**",
    ]
    lines += [f"  - {req} — {_cell(_requirement_text(req, known, spec.id))}"
              for req in spec.requires]
    behaviour = " ".join((spec.func.__doc__ or "").split())
    if behaviour and behaviour != " ".join(spec.fix.split()):
        lines.append(f"- **What it checks:** {_cell(behaviour)}")
    lines += [f"- **How to fix:** {_cell(spec.fix) or '—'}", ""]
    return lines


def render_markdown(registry: Registry, requirements: Mapping[str, str]) -> str:
    """The whole page for ``registry``; raises :class:`DocsError` for an unknown requirement."""
    specs = sorted(registry, key=lambda s: s.id)
    required = sum(1 for s in specs if s.severity.value == "required")
    lines = [
        "# Conformance checks",
        "",
        "<!-- Generated from the check registry: "
        "`python -m dufflebag_harness.conformance.catalog --markdown "
        "> docs/checks.md`. Do not edit by hand; a test compares this file with the registry. -->",
        "",
        f"Catalog version `{catalog_version(registry.listing())}`: {len(specs)} checks, "
        f"{required} required and {len(specs) - required} advisory. A certified extension "
        "passed every required check on every backend it lists; advisory results are reported "
        "and never change the level. Requirement texts come from `docs/requirements.md`.",
        "",
    ]
    areas: dict[str, list[CheckSpec]] = {}
    for spec in specs:
        areas.setdefault(spec.area, []).append(spec)
    lines += ["| area | checks |", "|---|---|"]
    lines += [f"| {_area_title(a)} | {', '.join(x.id for x in s)} |"
              for a, s in areas.items()]
    lines.append("")
    for area, members in areas.items():
        lines += [f"## {_area_title(area)}", "",
                  "| ID | title | severity | backends |", "|---|---|---|---|"]
        lines += [f"| {s.id} | {_cell(s.title)} | {s.severity.value} | {', '.join(s.backends)} |"
                  for s in members]
        lines.append("")
        for spec in members:
            lines += _check_section(spec, requirements)
    return "\n".join(lines).rstrip("\n") + "\n"
