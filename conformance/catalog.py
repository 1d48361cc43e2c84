"""``python -m dufflebag_harness.conformance.catalog``: print the catalog.toml the registry implies.

``--markdown`` prints ``docs/checks.md`` instead (requirement texts read from
``docs/requirements.md``, or the file ``--requirements`` names).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dufflebag_harness.conformance import load_checks
from dufflebag_harness.conformance._docs import (
    DocsError,
    default_requirements_path,
    parse_requirements,
    render_markdown,
)
from dufflebag_harness.conformance._registry import render_catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dufflebag_harness.conformance.catalog",
                                     description="Print the catalog the check registry implies.")
    parser.add_argument("--markdown", action="store_true",
                        help="print docs/checks.md instead of catalog.toml")
    parser.add_argument("--requirements", type=Path, default=None,
                        help="requirements table to read texts from "
                             "(default: docs/requirements.md)")
    args = parser.parse_args(argv)
    registry = load_checks()
    if not args.markdown:
        sys.stdout.write(render_catalog(registry))
        return 0
    path = args.requirements or default_requirements_path()
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        print(f"--requirements: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render_markdown(registry, parse_requirements(text)))
    except DocsError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
