"""Findings that trace into dependency code are marked ``inherited``.

Any check's failure (a runtime finding of the capability monitor, a static one, an
error's traceback) may name a file of an installed dependency: its reason or evidence
then holds the environment's site-packages path of that distribution's top-level
module. Such a result gets ``evidence.traced``: the distribution, its version and
``origin: inherited``, so an author sees what is theirs to fix and what is a
dependency's.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["trace_result"]


def trace_result(result: dict[str, Any], env: Any) -> dict[str, Any]:
    """``result`` (a ``CheckResult.to_json()``) with ``evidence.traced`` when it fails or
    errors naming a dependency's files; unchanged otherwise."""
    if env is None or result.get("status") not in ("fail", "error"):
        return result
    text = json.dumps([result.get("reason"), result.get("evidence")], default=str)
    site = str(env.site_packages).rstrip("/") + "/"
    traced = []
    for dist in env.distributions:
        where = sorted({mod for mod in dist.top_level
                        if f"{site}{mod}/" in text or f"{site}{mod}.py" in text})
        if where:
            traced.append({"distribution": dist.name, "version": dist.version,
                           "origin": "inherited",
                           "detail": f"names files of {', '.join(where)} (installed by "
                                     f"{dist.name}, a dependency)"})
    if not traced:
        return result
    evidence = result.get("evidence")
    evidence = dict(evidence) if isinstance(evidence, dict) else {"recorded": evidence}
    evidence["traced"] = traced
    return {**result, "evidence": evidence}
