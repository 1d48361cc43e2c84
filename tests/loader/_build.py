"""Extension manifests, folders and archives for the loader tests."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

FULL_MANIFEST = """\
[extension]
name = "analytics"
version = "1.2.3"
entry = "analytics.extension:Analytics"
description = "Page-view analytics"
author = "Ann Author"
license = "MIT"
homepage = "https://example.org/analytics"
host_api = ">=1.0,<2"
tags = ["analytics", "stats"]

[dependencies]
webhooks = ">=1.0,<2"

[capabilities]
network = ["api.example.org:443"]
filesystem = ["/srv/shared"]
subprocess = true

[[permissions]]
name = "analytics.view"
resource = "page_views"
actions = ["read", "export"]

[quotas]
memory_mb = 128
concurrent_requests = 8
db_connections = 2
requests_per_second = 50
storage_mb = 16
request_timeout_s = 3

[tests]
paths = ["tests"]
source = ["analytics"]

[[waivers]]
check = "PE-02"
reason = "export is used by a nightly job only"
expires = 2027-06-30
"""

#: ``make_ext(toml=FULL_MANIFEST, folder="ext") -> root`` (the ``make_ext`` fixture).
MakeExt = Callable[..., Path]

MINIMAL_MANIFEST = """\
[extension]
name = "analytics"
version = "1.0.0"
entry = "analytics.extension:Analytics"
"""


def build_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def build_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    """A .tar.gz from ``(name, bytes)`` files and ready-made TarInfo (links, devices)."""
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def symlink_info(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info
