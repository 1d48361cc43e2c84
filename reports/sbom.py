"""The CycloneDX SBOM of what ran: written beside the report, bound to it by digest.

The SBOM is made from the signed report alone (its extension, its ``dependencies``
section, its id and start time), so the same report always gives the same bytes:
``certify`` puts its sha256 into the report before signing, ``write_outputs`` writes
the file, and ``verify`` refuses a report whose SBOM file is missing or differs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["SBOM_NAME", "attach_sbom", "sbom_bytes", "sbom_problem"]

SBOM_NAME = "sbom.cdx.json"
_MAX_BYTES = 16 << 20


def _licences(expression: str) -> list[Any]:
    from cyclonedx.model.license import LicenseExpression

    known = expression and expression != "NOASSERTION"
    return [LicenseExpression(value=expression)] if known else []


def sbom_bytes(report: Mapping[str, Any]) -> bytes:
    """CycloneDX 1.6 JSON of the report's extension and its resolved dependencies."""
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    ext = report["extension"]
    deps = report["dependencies"]
    root = Component(name=ext["name"], version=ext["version"],
                     type=ComponentType.APPLICATION, bom_ref=f"extension:{ext['name']}",
                     hashes=[HashType(alg=HashAlgorithm.SHA_256,
                                      content=ext["artifact"]["digest"].split(":", 1)[1])])
    started = dt.datetime.fromisoformat(report["run"]["started"].replace("Z", "+00:00"))
    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"dufflebag:{report['report_id']}"),
              metadata=BomMetaData(component=root, timestamp=started))
    components = []
    for pkg in deps["packages"]:
        purl = PackageURL(type="pypi", name=pkg["name"], version=pkg["version"])
        component = Component(
            name=pkg["name"], version=pkg["version"], type=ComponentType.LIBRARY,
            bom_ref=purl.to_string(), purl=purl, licenses=_licences(pkg["licence"]),
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=pkg["wheel_sha256"])]
            if pkg["wheel_sha256"] else [])
        bom.components.add(component)
        components.append((pkg, component))
    bom.register_dependency(root, [c for p, c in components if p["direct"]])
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    return (text + "\n").encode("utf-8")


def attach_sbom(report: dict[str, Any]) -> bytes:
    """Make the SBOM of ``report`` and record its file name and sha256 in it."""
    data = sbom_bytes(report)
    report["dependencies"]["sbom"] = {"file": SBOM_NAME,
                                      "digest": "sha256:" + hashlib.sha256(data).hexdigest()}
    return data


def sbom_problem(report: Mapping[str, Any], folder: Path) -> str | None:
    """Why the SBOM beside a report does not match it (None: it does, or none is bound)."""
    deps = report.get("dependencies")
    if not deps or not deps.get("sbom"):
        return None
    bound = deps["sbom"]
    path = folder / bound["file"]
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_BYTES + 1)
    except OSError as exc:
        return f"the SBOM {path} the report is bound to cannot be read ({exc.strerror})"
    seen = "sha256:" + hashlib.sha256(data).hexdigest()
    if seen != bound["digest"]:
        return f"the SBOM {path} is {seen}, the signed report binds {bound['digest']}"
    return None
