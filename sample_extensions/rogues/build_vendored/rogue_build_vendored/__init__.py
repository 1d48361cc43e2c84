"""Test rogue `build_vendored`: country of an IP address, with a compiled lookup when built.

``python setup.py build`` leaves the compiled lookup under ``build/lib/``; the
package looks there first, so a developer checkout uses the fast path without a
reinstall, and falls back to the pure-Python modules beside this file.
"""

import os

# Prefer freshly built modules (build/lib/<package>) over the pure-Python fallbacks.
__path__.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "build", "lib", __name__))
