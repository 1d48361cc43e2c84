"""``dufflebag-cert new``: a new extension that certifies as generated.

A first extension should start from something that already passes every
check, so an author's first failure is about their own change, not about the
harness's expectations (metadata equal to the manifest, documented responses,
tested branches, a reversible migration).
"""

from __future__ import annotations

from dufflebag_harness.outside.scaffold._writer import (
    ScaffoldError,
    check_name,
    class_name_for,
    render,
    scaffold,
)

__all__ = ["ScaffoldError", "check_name", "class_name_for", "render", "scaffold"]
