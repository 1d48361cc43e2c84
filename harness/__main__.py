"""``python -m harness`` is the ``dufflebag-cert`` command."""

from __future__ import annotations

from harness.cli import main

if __name__ == "__main__":  # pragma: no cover - thin entry point
    main()
