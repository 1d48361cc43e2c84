"""``artifact_digest``: deterministic, sensitive to every byte and name of every file."""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
from pathlib import Path

import pytest

from dufflebag_harness.outside.loader import ArtifactDigest, ArtifactError, artifact_digest

from ._build import build_tar, build_zip, symlink_info


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


FILES = {
    "extension.toml": b'[extension]\nname = "demo"\n',
    "demo/__init__.py": b"",
    "demo/extension.py": b"class Demo: ...\n",
}


def test_folder_digest_follows_the_documented_tree_format(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ext", FILES)
    expected = hashlib.sha256(b"dufflebag-tree/1\0")
    for rel in sorted(FILES):
        path = rel.encode()
        content = hashlib.sha256(FILES[rel]).digest()
        expected.update(b"F" + len(path).to_bytes(8, "big") + path + content)
    result = artifact_digest(root)
    assert result == ArtifactDigest(
        "folder", f"sha256:{expected.hexdigest()}", {k: _sha(v) for k, v in FILES.items()}
    )


def test_folder_digest_does_not_depend_on_location_or_creation_order(tmp_path: Path) -> None:
    first = _tree(tmp_path / "a", FILES)
    second = _tree(tmp_path / "elsewhere" / "b", dict(reversed(FILES.items())))
    assert artifact_digest(first) == artifact_digest(second)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda r: (r / "demo/extension.py").write_bytes(b"class Demo: ..\n"), id="byte"
        ),
        pytest.param(lambda r: (r / "demo/extension.py").rename(r / "demo/ext.py"), id="rename"),
        pytest.param(lambda r: (r / "demo/new.py").write_bytes(b""), id="new-empty-file"),
        pytest.param(lambda r: (r / "demo/__init__.py").unlink(), id="removed-file"),
        pytest.param(lambda r: (r / "demo/stray.pyc").write_bytes(b"\0"), id="importable-pyc"),
        pytest.param(
            lambda r: _tree(r, {"demo/certification/x.py": b""}), id="nested-certification"
        ),
    ],
)
def test_any_change_of_the_extension_changes_the_digest(tmp_path: Path, change: object) -> None:
    root = _tree(tmp_path / "ext", FILES)
    before = artifact_digest(root).digest
    change(root)  # type: ignore[operator]
    assert artifact_digest(root).digest != before


def test_path_and_content_boundaries_cannot_collide(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one", {"ab": b"c"})
    two = _tree(tmp_path / "two", {"a": b"bc"})
    assert artifact_digest(one).digest != artifact_digest(two).digest


@pytest.mark.parametrize(
    "hidden",
    [
        "demo/__pycache__/extension.cpython-311.pyc",
        "demo/__pycache__/notes.txt",
        ".venv/lib/python3.11/site-packages/evil.pth",
        ".venv/bin/python",
        "build/lib/demo/helpers.py",
        "dist/demo-1.0.0-py3-none-any.whl",
        ".git/HEAD",
        ".pytest_cache/v/cache/nodeids",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/content",
        ".hypothesis/examples/x",
        ".nox/tests/bin/python",
        ".tox/py311/lib/x.py",
        "demo.egg-info/PKG-INFO",
        "node_modules/x/index.js",
        ".coverage",
        ".coverage.host.1234",
    ],
)
def test_every_file_is_digested_caches_and_hidden_folders_included(
    tmp_path: Path, hidden: str
) -> None:
    # An injected pyc in __pycache__ or a .pth in .venv is importable once installed:
    # a folder that carries one is not the folder that was certified without it.
    root = _tree(tmp_path / "ext", FILES)
    before = artifact_digest(root)
    _tree(root, {hidden: b"cache"})
    after = artifact_digest(root)
    assert after.digest != before.digest
    assert after.files[hidden] == _sha(b"cache")
    assert set(after.files) == {*before.files, hidden}


def test_only_the_root_certification_folder_is_left_out(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ext", FILES)
    before = artifact_digest(root)
    _tree(root, {"certification/demo-1.0.0/report.json": b"{}"})
    assert artifact_digest(root) == before
    _tree(root, {"demo/certification/x.py": b""})
    assert artifact_digest(root).digest != before.digest


def test_a_root_certification_file_or_link_is_digested(tmp_path: Path) -> None:
    # Only the folder certify writes its output to is left out, not a file so named.
    plain = _tree(tmp_path / "plain", FILES)
    with_file = _tree(tmp_path / "file", {**FILES, "certification": b"x"})
    assert "certification" in artifact_digest(with_file).files
    linked = _tree(tmp_path / "link", FILES)
    os.symlink("demo", linked / "certification")
    assert artifact_digest(linked).links == {"certification": "demo"}
    assert artifact_digest(linked).digest != artifact_digest(plain).digest


def test_symlinks_are_recorded_by_target_text_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    root = _tree(tmp_path / "ext", FILES)
    os.symlink(outside, root / "demo" / "link")
    first = artifact_digest(root)
    assert first.files["demo/link"] == _sha(str(outside).encode())
    assert first.links == {"demo/link": str(outside)}
    outside.write_bytes(b"changed behind the link")
    assert artifact_digest(root) == first
    os.unlink(root / "demo" / "link")
    os.symlink(tmp_path / "other.txt", root / "demo" / "link")
    assert artifact_digest(root).digest != first.digest


def test_a_link_differs_from_a_file_holding_its_target_text(tmp_path: Path) -> None:
    linked = _tree(tmp_path / "a", FILES)
    os.symlink("extension.py", linked / "demo" / "alias")
    plain = _tree(tmp_path / "b", {**FILES, "demo/alias": b"extension.py"})
    assert artifact_digest(linked).digest != artifact_digest(plain).digest


def test_symlinked_folder_is_not_descended(tmp_path: Path) -> None:
    big = _tree(tmp_path / "big", {"x.bin": b"x" * 10})
    root = _tree(tmp_path / "ext", FILES)
    os.symlink(big, root / "data")
    assert "data/x.bin" not in artifact_digest(root).files


def test_special_file_in_folder_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path / "ext", FILES)
    os.mkfifo(root / "demo" / "pipe")
    with pytest.raises(ArtifactError, match=r"demo/pipe: not a regular file"):
        artifact_digest(root)


def test_wheel_digest_is_the_file_hash_with_member_hashes(tmp_path: Path) -> None:
    wheel = build_zip(tmp_path / "demo-1.0.0-py3-none-any.whl", FILES)
    result = artifact_digest(wheel)
    assert result.kind == "wheel"
    assert result.digest == f"sha256:{_sha(wheel.read_bytes())}"
    assert dict(result.files) == {k: _sha(v) for k, v in FILES.items()}
    assert result.to_json() == {
        "kind": "wheel",
        "digest": result.digest,
        "files": {k: _sha(v) for k, v in sorted(FILES.items())},
    }


def test_sdist_digest_lists_members_under_their_archive_names(tmp_path: Path) -> None:
    members = [(f"demo-1.0.0/{k}", v) for k, v in FILES.items()]
    sdist = build_tar(
        tmp_path / "demo-1.0.0.tar.gz", [*members, symlink_info("demo-1.0.0/l", "demo")]
    )
    result = artifact_digest(sdist)
    assert result.kind == "sdist"
    assert result.digest == f"sha256:{_sha(sdist.read_bytes())}"
    assert result.files["demo-1.0.0/demo/extension.py"] == _sha(FILES["demo/extension.py"])
    assert result.links == {"demo-1.0.0/l": "demo"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"x", "not a folder, wheel"),
        ("broken.whl", b"not a zip", "not a readable zip archive"),
        ("broken.tar.gz", b"not gzip", "not a readable gzip-compressed tar archive"),
    ],
)
def test_unusable_artifacts_are_refused_by_name(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match=re.escape(message)) as caught:
        artifact_digest(path)
    assert str(path) in str(caught.value)


def test_missing_artifact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such file or folder"):
        artifact_digest(tmp_path / "nope")


def test_device_member_in_sdist_is_refused(tmp_path: Path) -> None:
    device = tarfile.TarInfo("demo-1.0.0/dev")
    device.type = tarfile.CHRTYPE
    sdist = build_tar(tmp_path / "demo-1.0.0.tar.gz", [device])
    with pytest.raises(ArtifactError, match=re.escape("'demo-1.0.0/dev' is a device")):
        artifact_digest(sdist)
