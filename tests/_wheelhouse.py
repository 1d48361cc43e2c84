"""Wheelhouses for the tests: no network, nothing built by a build backend.

``tests/data/wheels/`` holds three real wheels from PyPI (python-slugify 9.0.0 and
text-unidecode 1.3, which it requires, and tabulate 0.10.0), the dependencies of the
sample ``quotes``. :func:`write_wheel` writes a small wheel from given files, as a build
backend would (METADATA, WHEEL, top_level.txt, RECORD with hashes).
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

REAL_WHEELS = Path(__file__).parent / "data" / "wheels"


def write_wheel(dest: Path, name: str, version: str, files: Mapping[str, str],
                requires: Sequence[str] = (), licence: str = "MIT") -> Path:
    """A pure-Python wheel of ``files`` (path in site-packages -> text) in ``dest``."""
    dist = f"{name.replace('-', '_')}-{version}"
    info = f"{dist}.dist-info"
    entries = dict(files)
    entries[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n"
        + (f"License-Expression: {licence}\n" if licence else "")
        + "".join(f"Requires-Dist: {r}\n" for r in requires))
    entries[f"{info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                                "Tag: py3-none-any\n")
    tops = sorted({f.split("/")[0].removesuffix(".py") for f in files if not f.endswith(".pth")})
    entries[f"{info}/top_level.txt"] = "".join(t + "\n" for t in tops)
    record = []
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = "\n".join(record) + "\n"
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in entries.items():
            zf.writestr(path, text)
    return wheel


def write_sdist(dest: Path, name: str, version: str, setup_py: str | None = None) -> Path:
    """An sdist only: ``setup_py`` (setuptools) runs when it is built; by default one that
    refuses to build."""
    dist = f"{name.replace('-', '_')}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    sdist = dest / f"{dist}.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for rel, text in {
            "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            "setup.py": setup_py or "raise SystemExit('this package does not build')\n",
        }.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{dist}/{rel}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return sdist


def quotes_wheelhouse(dest: Path) -> Path:
    """The real wheels the sample ``quotes`` declares (and what they require)."""
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in REAL_WHEELS.glob("*.whl"):
        shutil.copy(wheel, dest / wheel.name)
    return dest


def rogue_wheelhouse(dest: Path) -> Path:
    """The quotes wheels and those the rogues declare: fastslug, whose wheel also installs
    a start-up hook (a .pth file with an import line), and leftpadder 1.0.0, which the OSV
    records in ``tests/data/osv`` list as vulnerable."""
    quotes_wheelhouse(dest)
    write_wheel(dest, "fastslug", "1.0.0", {
        "fastslug/__init__.py": "def shorten(slug, limit=40):\n"
                                "    return slug[:limit].rstrip('-')\n",
        "fastslug-speedups.pth": "import os; os.environ.setdefault('FASTSLUG_SPEEDUPS', '1')\n",
    })
    write_wheel(dest, "leftpadder", "1.0.0", {
        "leftpadder/__init__.py": "def pad(text, width, fill=' '):\n"
                                  "    return text.rjust(width, fill)\n",
    })
    return dest
