"""JUnit XML: one testcase per (check, backend), for CI test-report views.

``classname`` is the area (``LC``), ``name`` the pair (``LC-01@sqlite``).
ElementTree escapes markup; characters XML 1.0 cannot carry at all (most
control characters) are removed first, or the file would not parse.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.reports.render._view import ResultView, clean_text, view

__all__ = ["render_junit"]

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: Any, limit: int = 1000, *, one_line: bool = True) -> str:
    return _NOT_XML.sub("", clean_text(text, limit, one_line=one_line))


def _detail(r: ResultView) -> str:
    """The body under a problem: reason, how to fix it, where it is documented, evidence."""
    parts = [f"{r.pair} {r.status}: {r.reason or r.title}",
             f"How to fix: {r.fix or 'see the documentation'}",
             f"Docs: {r.docs}"]
    if r.evidence:
        parts.append(f"Evidence:\n{r.evidence}")
    return _x("\n\n".join(parts), 20_000, one_line=False)


def render_junit(report: Mapping[str, Any]) -> bytes:
    """UTF-8 JUnit XML, valid against the Jenkins JUnit schema (junit-10.xsd).

    A required pair that failed → ``failure``, errored → ``error``, was flaky →
    ``failure type="flaky"``; skipped or waived → ``skipped``. Advisory problems never
    change the level, so they are no ``failure``: they are told in the case's
    ``system-out`` (a certified run reads ``failures="0"``). Each problem's body says how
    to fix it and where the check is documented.
    """
    v = view(report)
    counts = {"tests": len(v.results), "failures": 0, "errors": 0, "skipped": 0}
    total_time = sum(r.duration_s for r in v.results)
    suites = ET.Element("testsuites", name="dufflebag-cert")
    suite = ET.SubElement(suites, "testsuite", name=_x(f"{v.name} {v.version}", 200),
                          timestamp=_x(report["run"]["started"], 40),
                          time=f"{total_time:.3f}")
    props = ET.SubElement(suite, "properties")
    for name, value in (("level", v.level), ("marketplace", v.standing.verdict),
                        ("profile", report["run"]["profile"]),
                        ("catalog", report["catalog"]["version"]),
                        ("signer", (report["signer"] or {}).get("fingerprint", "unsigned")),
                        ("seed", str(report["run"]["seed"]))):
        ET.SubElement(props, "property", name=name, value=_x(value, 600))
    for r in v.results:
        case = ET.SubElement(suite, "testcase", classname=_x(r.area, 10), name=_x(r.pair, 40),
                             time=f"{r.duration_s:.3f}")
        message = _x(r.reason or r.title)
        problem = r.status in ("fail", "error", "flaky")
        if r.waived:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=_x(f"waived: {message}"))
        elif problem and r.severity == "advisory":
            ET.SubElement(case, "system-out").text = _x(
                f"advisory (does not change the level)\n\n{_detail(r)}", 20_000, one_line=False)
        elif r.status == "fail":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=message, type="required").text = _detail(r)
        elif r.status == "flaky":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=_x(f"flaky: {message}"),
                          type="flaky").text = _detail(r)
        elif r.status == "error":
            counts["errors"] += 1
            ET.SubElement(case, "error", message=message, type="required").text = _detail(r)
        elif r.status == "skipped":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=message)
    for key, value in counts.items():
        suite.set(key, str(value))
        if key != "skipped":  # the schema has no skipped on <testsuites>
            suites.set(key, str(value))
    suites.set("time", f"{total_time:.3f}")
    ET.indent(suites)
    return bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True)) + b"\n"
