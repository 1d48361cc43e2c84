"""``python -m conformance.catalog``: print the catalog.toml the registry implies."""

from __future__ import annotations

import sys

from conformance import load_checks
from conformance._registry import render_catalog

if __name__ == "__main__":
    sys.stdout.write(render_catalog(load_checks()))
