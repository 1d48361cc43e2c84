"""The certification report: model, schema, canonical bytes, levels, signing, verify, outputs.

Imports nothing of the host, the checks or extensions (only
``dufflebag_harness.outside.loader.digest``, to recompute an artifact digest in ``verify``), so
the marketplace can verify a report without code an extension could influence.
"""

from __future__ import annotations

from dufflebag_harness.reports._gpg import GnupgHomeTooLong, GpgUnavailable, SigningError
from dufflebag_harness.reports.bundle import BundleRefused, sign_bundle
from dufflebag_harness.reports.canonical import (
    SCHEMA_VERSION,
    ReportInvalid,
    canonical_bytes,
    catalog_version,
    load_schema,
    validate,
)
from dufflebag_harness.reports.keys import KeyInfo, export_keys, init_key, list_keys
from dufflebag_harness.reports.levels import (
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
from dufflebag_harness.reports.model import (
    build_report,
    clean_evidence,
    clean_result,
    make_result,
    utc_timestamp,
)
from dufflebag_harness.reports.outputs import OUTPUT_FILES, OutputError, SupportsSign, write_outputs
from dufflebag_harness.reports.render import (
    render_badge,
    render_html,
    render_junit,
    render_markdown,
    render_sarif,
)
from dufflebag_harness.reports.signing import Signer, ensure_signing_key, signing_home
from dufflebag_harness.reports.verify import VerifyOutcome, verify

__all__ = [
    "LEVEL_RANK",
    "OUTPUT_FILES",
    "SCHEMA_VERSION",
    "BundleRefused",
    "GnupgHomeTooLong",
    "GpgUnavailable",
    "KeyInfo",
    "OutputError",
    "ReportInvalid",
    "Signer",
    "SigningError",
    "SupportsSign",
    "VerifyOutcome",
    "WaiverInvalid",
    "apply_waivers",
    "build_report",
    "canonical_bytes",
    "catalog_version",
    "clean_evidence",
    "clean_result",
    "compute_level",
    "ensure_signing_key",
    "export_keys",
    "fill_unplanned",
    "init_key",
    "list_keys",
    "load_schema",
    "make_result",
    "render_badge",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "required_gaps",
    "required_pairs",
    "sign_bundle",
    "signing_home",
    "summary",
    "utc_timestamp",
    "validate",
    "verify",
    "waived_pairs",
    "write_outputs",
]
