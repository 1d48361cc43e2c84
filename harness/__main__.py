"""``python -m dufflebag_harness`` is the ``dufflebag-cert`` command."""

from __future__ import annotations

from dufflebag_harness.outside.cli import main

if __name__ == "__main__":  # pragma: no cover - thin entry point
    main()
