"""The public surface of ``reports`` and its import boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dufflebag_harness.reports

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_are_pinned() -> None:
    assert sorted(dufflebag_harness.reports.__all__) == sorted([
        "LEVEL_RANK", "OUTPUT_FILES", "SCHEMA_VERSION", "BundleRefused", "GnupgHomeTooLong",
        "GpgUnavailable",
        "KeyInfo", "OutputError", "ReportInvalid", "Signer", "SigningError", "SupportsSign",
        "VerifyOutcome", "WaiverInvalid", "apply_waivers", "build_report", "canonical_bytes",
        "catalog_version", "clean_evidence", "clean_result", "compute_level",
        "ensure_signing_key", "export_keys", "fill_unplanned", "init_key", "list_keys",
        "load_schema", "make_result", "render_badge", "render_html", "render_junit",
        "render_markdown", "render_sarif", "required_gaps", "required_pairs", "sign_bundle",
        "signing_home",
        "summary", "utc_timestamp", "validate", "verify", "waived_pairs", "write_outputs",
    ])
    for name in dufflebag_harness.reports.__all__:
        assert getattr(dufflebag_harness.reports, name) is not None


def test_reports_imports_neither_the_host_nor_the_checks_nor_extensions() -> None:
    code = ("import sys, reports\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('conformance', 'fixtures', 'sample_extensions') or "
            "m.startswith(('dufflebag_harness.inside', 'dufflebag_harness.outside.runner'))]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


def test_the_installed_catalog_is_read_without_importing_the_checks() -> None:
    code = ("import sys\n"
            "from dufflebag_harness.reports.catalogs import installed_catalog_version\n"
            "version = installed_catalog_version()\n"
            "bad = ('dufflebag_harness.conformance', 'dufflebag_harness.inside')\n"
            "print(version is not None, [m for m in sys.modules if m.startswith(bad)])")
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True []"
