"""dufflebag-harness: test and certify DuffleBagBase extensions.

Extension authors import only :mod:`dufflebag_harness.sdk`. Everything else in this
package is the harness's own runtime (host, loader, worker, runner, CLI).
"""

from __future__ import annotations

__version__ = "0.1.0"

#: Version of the extension contract implemented by the reference host.
HOST_API_VERSION = "1.0.0"

__all__ = ["HOST_API_VERSION", "__version__"]
