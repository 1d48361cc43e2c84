"""Declared Python dependencies: read from pyproject.toml, a wheel's METADATA and the lock."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from dufflebag_harness.outside.loader import ManifestError, load_manifest, materialize

from ._build import FULL_MANIFEST, MakeExt

_HASH = "a" * 64


def test_pyproject_dependencies_are_declared(make_ext: MakeExt) -> None:
    root = make_ext()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "analytics"\nversion = "1.2.3"\n'
        'dependencies = ["Tiny-Valid>=1.0,<2", "tinytemplate", '
        '"winonly; sys_platform == \'win32\'"]\n')
    deps = load_manifest(root).python_dependencies
    assert deps.requirements == ("Tiny-Valid<2,>=1.0", "tinytemplate")
    assert deps.names == ("tiny-valid", "tinytemplate")
    assert deps.source == "pyproject.toml [project].dependencies"
    assert deps.lock == ()


def test_no_pyproject_means_no_dependencies(make_ext: MakeExt) -> None:
    deps = load_manifest(make_ext()).python_dependencies
    assert not deps and deps.requirements == ()


def test_wheel_requires_dist_is_read(tmp_path: Path) -> None:
    wheel = tmp_path / "analytics-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("analytics/__init__.py", "")
        zf.writestr("analytics/extension.py", "class Analytics: ...\n")
        zf.writestr("tests/test_analytics.py", "def test_x(): pass\n")
        zf.writestr("analytics-1.2.3.dist-info/extension.toml", FULL_MANIFEST)
        zf.writestr("analytics-1.2.3.dist-info/METADATA",
                    "Metadata-Version: 2.4\nName: analytics\nVersion: 1.2.3\n"
                    "Requires-Dist: tinyvalid==1.2.0\nRequires-Dist: pytest; extra == 'test'\n")
    root = materialize(wheel, tmp_path / "out")
    deps = load_manifest(root).python_dependencies
    assert deps.requirements == ("tinyvalid==1.2.0",)
    assert deps.source == "analytics-1.2.3.dist-info/METADATA Requires-Dist"


@pytest.mark.parametrize(("entry", "says"), [
    ('"not a requirement!"', "[project].dependencies[0]"),
    ('"tinyvalid @ https://example.org/tinyvalid.whl"', "direct reference"),
])
def test_bad_requirements_name_the_file_and_entry(make_ext: MakeExt, entry: str,
                                                  says: str) -> None:
    root = make_ext()
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = [{entry}]\n')
    with pytest.raises(ManifestError) as err:
        load_manifest(root)
    assert "pyproject.toml" in str(err.value) and says in str(err.value)


def test_dynamic_dependencies_are_refused(make_ext: MakeExt) -> None:
    root = make_ext()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["dependencies"]\n')
    with pytest.raises(ManifestError, match="dynamic"):
        load_manifest(root)


def test_lock_is_read_with_hashes(make_ext: MakeExt) -> None:
    root = make_ext()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["tinyvalid>=1"]\n')
    (root / "requirements.lock").write_text(
        f"# generated\ntinyvalid==1.2.0 \\\n    --hash=sha256:{_HASH}\n"
        f"markupsafe==3.0.4 --hash=sha256:{'b' * 64}\n")
    deps = load_manifest(root).python_dependencies
    assert [(p.name, p.version, p.hashes) for p in deps.lock] == [
        ("tinyvalid", "1.2.0", (_HASH,)), ("markupsafe", "3.0.4", ("b" * 64,))]
    assert deps.lock_file == "requirements.lock"


@pytest.mark.parametrize(("lock", "says"), [
    ("tinyvalid==1.2.0\n", "no --hash"),
    ("tinyvalid>=1.2.0 --hash=sha256:" + _HASH + "\n", "not pinned"),
    ("other==1.0 --hash=sha256:" + _HASH + "\n", "does not pin tinyvalid"),
    ("tinyvalid==0.9 --hash=sha256:" + _HASH + "\n", "outside the declaration"),
])
def test_bad_locks_are_refused(make_ext: MakeExt, lock: str, says: str) -> None:
    root = make_ext()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["tinyvalid>=1"]\n')
    (root / "requirements.lock").write_text(lock)
    with pytest.raises(ManifestError) as err:
        load_manifest(root)
    assert "requirements.lock" in str(err.value) and says in str(err.value)
