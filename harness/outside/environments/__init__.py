"""An isolated Python environment per extension, for the code that runs in the sandbox.

The extension's declared dependencies (:mod:`dufflebag_harness.outside.loader.python_deps`)
are resolved against the harness's own packages, which always win, and installed —
wheels only, so nothing of them runs here — into a virtual environment of the harness's
interpreter that sees the harness's site-packages through a ``.pth`` file. It is cached
under the cache folder by the hash of the resolved set and reused. The worker and the
extension's test run use its interpreter; the sandbox shows the folder read-only.
"""

from __future__ import annotations

from dufflebag_harness.outside.environments.build import (
    BuildOptions,
    DependencyError,
    Distribution,
    PythonEnvironment,
    build_environment,
    cache_dir,
)
from dufflebag_harness.outside.environments.prepare import PrepareOptions, prepare

__all__ = [
    "BuildOptions",
    "DependencyError",
    "Distribution",
    "PrepareOptions",
    "PythonEnvironment",
    "build_environment",
    "cache_dir",
    "prepare",
]
