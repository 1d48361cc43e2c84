"""The certification report: model, schema, canonical bytes, levels, signing, verify, outputs.

Imports nothing of the host, the checks or extensions, so the marketplace can
verify a report without any code that an extension could have influenced.
"""

from __future__ import annotations

from reports.canonical import (
    SCHEMA_VERSION,
    ReportInvalid,
    canonical_bytes,
    catalog_version,
    load_schema,
    validate,
)
from reports.levels import (
    LEVEL_RANK,
    WaiverInvalid,
    apply_waivers,
    compute_level,
    fill_unplanned,
    required_gaps,
    required_pairs,
    summary,
    waived_pairs,
)
from reports.model import (
    build_report,
    clean_evidence,
    clean_result,
    make_result,
    utc_timestamp,
)

__all__ = [
    "LEVEL_RANK",
    "SCHEMA_VERSION",
    "ReportInvalid",
    "WaiverInvalid",
    "apply_waivers",
    "build_report",
    "canonical_bytes",
    "catalog_version",
    "clean_evidence",
    "clean_result",
    "compute_level",
    "fill_unplanned",
    "load_schema",
    "make_result",
    "required_gaps",
    "required_pairs",
    "summary",
    "utc_timestamp",
    "validate",
    "waived_pairs",
]
