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

from dufflebag_harness.reports.render._view import clean_text, view

__all__ = ["render_junit"]

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: Any, limit: int = 1000, *, one_line: bool = True) -> str:
    return _NOT_XML.sub("", clean_text(text, limit, one_line=one_line))


def render_junit(report: Mapping[str, Any]) -> bytes:
    """UTF-8 JUnit XML. fail → ``failure``, error → ``error``, skipped → ``skipped``,
    flaky → ``failure type="flaky"``; advisory problems are typed ``advisory``."""
    v = view(report)
    counts = {"tests": len(v.results), "failures": 0, "errors": 0, "skipped": 0}
    total_time = sum(r.duration_s for r in v.results)
    suites = ET.Element("testsuites", name="dufflebag-cert")
    suite = ET.SubElement(suites, "testsuite", name=_x(f"{v.name} {v.version}", 200),
                          timestamp=_x(report["run"]["started"], 40),
                          time=f"{total_time:.3f}")
    props = ET.SubElement(suite, "properties")
    for name, value in (("level", v.level), ("profile", report["run"]["profile"]),
                        ("catalog", report["catalog"]["version"]),
                        ("signer", (report["signer"] or {}).get("fingerprint", "unsigned")),
                        ("seed", str(report["run"]["seed"]))):
        ET.SubElement(props, "property", name=name, value=_x(value, 200))
    for r in v.results:
        case = ET.SubElement(suite, "testcase", classname=_x(r.area, 10), name=_x(r.pair, 40),
                             time=f"{r.duration_s:.3f}")
        message = _x(r.reason or r.title)
        body = _x(r.evidence, 10_000, one_line=False)
        kind = "advisory" if r.severity == "advisory" else "required"
        if r.waived:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=_x(f"waived: {message}"))
        elif r.status == "fail":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=message, type=kind).text = body
        elif r.status == "flaky":
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=_x(f"flaky: {message}"),
                          type="flaky").text = body
        elif r.status == "error":
            counts["errors"] += 1
            ET.SubElement(case, "error", message=message, type=kind).text = body
        elif r.status == "skipped":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=message)
    for element in (suites, suite):
        for key, value in counts.items():
            element.set(key, str(value))
    suites.set("time", f"{total_time:.3f}")
    ET.indent(suites)
    return bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True)) + b"\n"
