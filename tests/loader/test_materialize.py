"""``materialize``: a world-readable copy the worker can import, and no escape from it."""

from __future__ import annotations

import os
import re
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from dufflebag_harness.outside.loader import (
    ArtifactError,
    artifact_digest,
    load_manifest,
    materialize,
)

from ._build import MINIMAL_MANIFEST, MakeExt, build_tar, build_zip, symlink_info

WHEEL_FILES = {
    "analytics/__init__.py": b"",
    "analytics/extension.py": b"class Analytics: ...\n",
    "analytics-1.0.0.dist-info/METADATA": b"Name: analytics\nVersion: 1.0.0\n",
}


def _modes(root: Path) -> set[tuple[str, int]]:
    out = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            if not path.is_symlink():
                out.add(("d" if path.is_dir() else "f", stat.S_IMODE(path.stat().st_mode)))
    return out


def _left_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


BYTECODE = [
    "analytics/__pycache__/extension.cpython-311.pyc",
    "analytics/__pycache__/notes.txt",
    "analytics/stray.pyc",
    "analytics/old.pyo",
    "build/lib/analytics/__pycache__/x.cpython-312.pyc",
    "tests/__pycache__/test_analytics.cpython-311-pytest-9.2.0.pyc",
]
KEPT = [".pytest_cache/v/cache/nodeids", ".venv/pyvenv.cfg", "build/lib/analytics/x.py",
        "analytics.egg-info/PKG-INFO", ".coverage"]


def test_folder_copy_keeps_everything_but_bytecode(make_ext: MakeExt, tmp_path: Path) -> None:
    src = make_ext()
    for rel in [*BYTECODE, *KEPT]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"\0")
    os.symlink("extension.py", src / "analytics" / "alias.py")
    os.symlink("stray.pyc", src / "analytics" / "linked.pyc")
    os.symlink("__pycache__", src / "analytics" / "cache")
    os.chmod(src / "analytics" / "extension.py", 0o600)
    root = materialize(src, tmp_path / "work" / "analytics")
    assert root == tmp_path / "work" / "analytics"
    copied = artifact_digest(root).files
    every = artifact_digest(src).files
    assert set(every) - set(copied) == {*BYTECODE, "analytics/linked.pyc"}
    assert {rel: every[rel] for rel in copied} == dict(copied)  # the rest, byte for byte
    assert not list(root.rglob("__pycache__")) and not list(root.rglob("*.py[co]"))
    assert os.readlink(root / "analytics" / "alias.py") == "extension.py"
    assert _modes(root) == {("d", 0o755), ("f", 0o644)}
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert load_manifest(root).name == "analytics"


def test_parent_side_copy_may_keep_bytecode(make_ext: MakeExt, tmp_path: Path) -> None:
    src = make_ext()
    for rel in BYTECODE:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"\0")
    root = materialize(src, tmp_path / "read-only", keep_bytecode=True)
    assert artifact_digest(root) == artifact_digest(src)


def test_archives_are_extracted_without_bytecode(tmp_path: Path) -> None:
    files = {**WHEEL_FILES, "extension.toml": MINIMAL_MANIFEST.encode(),
             "analytics/__pycache__/extension.cpython-311.pyc": b"\0",
             "analytics/_native_helper.pyc": b"\0", "analytics/data.txt": b"kept"}
    wheel = build_zip(tmp_path / "analytics-1.0.0-py3-none-any.whl", files)
    root = materialize(wheel, tmp_path / "out")
    assert not list(root.rglob("*.pyc")) and not (root / "analytics" / "__pycache__").exists()
    assert (root / "analytics" / "data.txt").read_bytes() == b"kept"
    sdist = build_tar(tmp_path / "analytics-1.0.0.tar.gz",
                      [(f"analytics-1.0.0/{k}", v) for k, v in files.items()])
    root = materialize(sdist, tmp_path / "out2")
    assert not list(root.rglob("*.pyc"))
    kept = materialize(wheel, tmp_path / "out3", keep_bytecode=True)
    assert (kept / "analytics" / "_native_helper.pyc").is_file()


def test_folder_link_leaving_the_tree_is_refused(make_ext: MakeExt, tmp_path: Path) -> None:
    src = make_ext()
    os.symlink("/etc", src / "analytics" / "etc")
    work = tmp_path / "work"
    with pytest.raises(ArtifactError, match=r"link 'analytics/etc' -> '/etc' leaves the extension"):
        materialize(src, work / "out")
    assert _left_in(work) == []


def test_wheel_built_here_is_extracted_and_loadable(tmp_path: Path) -> None:
    wheel = build_zip(
        tmp_path / "analytics-1.0.0-py3-none-any.whl",
        {**WHEEL_FILES, "extension.toml": MINIMAL_MANIFEST.encode()},
    )
    root = materialize(wheel, tmp_path / "out")
    assert root == tmp_path / "out"
    assert (root / "analytics" / "extension.py").read_bytes() == b"class Analytics: ...\n"
    assert _modes(root) == {("d", 0o755), ("f", 0o644)}
    assert load_manifest(root).entry.module == "analytics.extension"


def test_wheel_shipping_the_manifest_in_dist_info_gets_it_at_the_root(tmp_path: Path) -> None:
    wheel = build_zip(
        tmp_path / "analytics-1.0.0-py3-none-any.whl",
        {**WHEEL_FILES, "analytics-1.0.0.dist-info/extension.toml": MINIMAL_MANIFEST.encode()},
    )
    root = materialize(wheel, tmp_path / "out")
    assert (root / "extension.toml").read_text() == MINIMAL_MANIFEST
    assert load_manifest(root).name == "analytics"


def test_sdist_root_is_its_single_top_folder(tmp_path: Path) -> None:
    members = [(f"analytics-1.0.0/{k}", v) for k, v in WHEEL_FILES.items()]
    sdist = build_tar(
        tmp_path / "analytics-1.0.0.tar.gz",
        [
            *members,
            ("analytics-1.0.0/extension.toml", MINIMAL_MANIFEST.encode()),
            symlink_info("analytics-1.0.0/analytics/alias.py", "extension.py"),
        ],
    )
    root = materialize(sdist, tmp_path / "out")
    assert root == tmp_path / "out" / "analytics-1.0.0"
    assert os.readlink(root / "analytics" / "alias.py") == "extension.py"
    assert load_manifest(root).name == "analytics"


@pytest.mark.parametrize("evil", ["../evil.py", "a/../../evil.py", "/tmp/evil.py"])
def test_zip_slip_is_refused_and_nothing_is_written(tmp_path: Path, evil: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    wheel = build_zip(tmp_path / "x-1.0-py3-none-any.whl", {"extension.toml": b"", evil: b"x"})
    with pytest.raises(ArtifactError, match="unsafe member name") as caught:
        materialize(wheel, work / "out")
    assert repr(evil) in str(caught.value) and str(wheel) in str(caught.value)
    assert _left_in(work) == []
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (("../evil.py", b"x"), "unsafe member name '../evil.py'"),
        (("/etc/evil", b"x"), "unsafe member name '/etc/evil'"),
        (symlink_info("pkg/out", "../../etc"), "link 'pkg/out' -> '../../etc' leaves the archive"),
        (symlink_info("pkg/abs", "/etc/passwd"), "link 'pkg/abs' -> '/etc/passwd' leaves"),
    ],
)
def test_tar_slip_is_refused_and_nothing_is_written(
    tmp_path: Path, member: tarfile.TarInfo | tuple[str, bytes], message: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    sdist = build_tar(tmp_path / "x-1.0.tar.gz", [("x-1.0/extension.toml", b""), member])
    with pytest.raises(ArtifactError, match=re.escape(message)):
        materialize(sdist, work / "out")
    assert _left_in(work) == []


def test_chained_links_that_escape_physically_are_refused(tmp_path: Path) -> None:
    # Each link looks inside lexically; together ``t`` resolves above the root.
    sdist = build_tar(
        tmp_path / "x-1.0.tar.gz",
        [
            ("x/extension.toml", b""),
            ("x/a/b/f", b""),
            symlink_info("x/a/b/s", "../.."),
            symlink_info("x/a/b/t", "s/../.."),
        ],
    )
    with pytest.raises(
        ArtifactError, match=re.escape("'x/a/b/t' -> 's/../..' leaves the extension")
    ):
        materialize(sdist, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_file_under_a_link_member_is_refused(tmp_path: Path) -> None:
    sdist = build_tar(
        tmp_path / "x-1.0.tar.gz",
        [
            ("x/extension.toml", b""),
            ("x/real/f", b""),
            symlink_info("x/d", "real"),
            ("x/d/g", b"written through the link?"),
        ],
    )
    with pytest.raises(ArtifactError, match="conflicts"):
        materialize(sdist, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_duplicate_zip_members_are_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zf.writestr("extension.toml", b"one")
        zf.writestr("extension.toml", b"two")
    with pytest.raises(ArtifactError, match=re.escape("duplicate member 'extension.toml'")):
        materialize(wheel, tmp_path / "out")


def test_archive_without_manifest_is_refused_and_cleaned_up(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    wheel = build_zip(tmp_path / "x-1.0-py3-none-any.whl", WHEEL_FILES)
    with pytest.raises(ArtifactError, match=re.escape("no extension.toml")):
        materialize(wheel, work / "out")
    assert _left_in(work) == []


def test_destination_must_be_new_or_empty(make_ext: MakeExt, tmp_path: Path) -> None:
    src = make_ext()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="not an empty folder"):
        materialize(src, dest)
    assert _left_in(dest) == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert materialize(src, empty) == empty


def test_destination_inside_the_source_is_refused(make_ext: MakeExt) -> None:
    src = make_ext()
    with pytest.raises(ArtifactError, match="inside the extension folder"):
        materialize(src, src / "analytics" / "copy")
