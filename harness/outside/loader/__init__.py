"""Reading an extension without running it: manifest, artifact digest, discovery.

Everything here runs in the signing process, so nothing here imports, execs
or loads extension code: the manifest is TOML, the digest is bytes, discovery
reads distribution metadata, and :func:`materialize` only copies files.
"""

from __future__ import annotations

from dufflebag_harness.outside.loader._errors import ArtifactError, ManifestError
from dufflebag_harness.outside.loader._names import RESERVED_TOP_LEVEL
from dufflebag_harness.outside.loader.digest import ArtifactDigest, artifact_digest
from dufflebag_harness.outside.loader.discovery import ENTRY_POINT_GROUP, Discovered, discover
from dufflebag_harness.outside.loader.manifest import (
    MANIFEST_NAME,
    Capabilities,
    Entry,
    Manifest,
    PublicRoute,
    Suite,
    Waiver,
    load_manifest,
)
from dufflebag_harness.outside.loader.materialize import materialize
from dufflebag_harness.outside.loader.python_deps import (
    LOCK_NAME,
    LockedPin,
    PythonDependencies,
    read_python_dependencies,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "RESERVED_TOP_LEVEL",
    "ArtifactDigest",
    "ArtifactError",
    "Capabilities",
    "Discovered",
    "Entry",
    "LockedPin",
    "Manifest",
    "ManifestError",
    "PublicRoute",
    "PythonDependencies",
    "Suite",
    "Waiver",
    "artifact_digest",
    "discover",
    "load_manifest",
    "materialize",
    "read_python_dependencies",
]
