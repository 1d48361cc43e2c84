"""The environment of an extension's declared dependencies: built, reused, refused."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from pathlib import Path

import pytest
from _wheelhouse import quotes_wheelhouse, write_sdist, write_wheel

from dufflebag_harness.outside.environments import (
    BuildOptions,
    DependencyError,
    build_environment,
    cache_dir,
)
from dufflebag_harness.outside.environments import build as build_module
from dufflebag_harness.outside.loader import LockedPin, PythonDependencies

SOURCE = "pyproject.toml [project].dependencies"


def _deps(*requirements: str) -> PythonDependencies:
    return PythonDependencies(tuple(requirements), SOURCE)


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = quotes_wheelhouse(tmp_path / "wheelhouse")
    write_wheel(house, "escaper", "0.3.1",
                {"escaper/__init__.py": "import markupsafe\n\n"
                                        "def esc(s):\n    return str(markupsafe.escape(s))\n"},
                requires=["markupsafe>=2"], licence="Apache-2.0")
    return house


def _opts(tmp_path: Path, house: Path) -> BuildOptions:
    return BuildOptions(find_links=(house,), no_index=True, cache=tmp_path / "cache")


def _python(env_python: str, code: str) -> str:
    done = subprocess.run([env_python, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_built_from_a_wheelhouse_then_reused(tmp_path: Path, wheelhouse: Path) -> None:
    deps = _deps("python-slugify>=9,<10", "tabulate")
    first = build_environment(deps, _opts(tmp_path, wheelhouse))
    assert not first.reused
    assert first.path.is_relative_to((tmp_path / "cache" / "envs").resolve())
    names = {d.name: d for d in first.distributions}
    assert set(names) == {"python-slugify", "text-unidecode", "tabulate"}
    assert names["python-slugify"].direct and not names["text-unidecode"].direct
    assert names["python-slugify"].licence == "MIT"
    assert names["python-slugify"].top_level == ("slugify",)
    # the wheel's hash is the file's in the wheelhouse
    wheel = next(wheelhouse.glob("tabulate-*.whl"))
    import hashlib
    assert names["tabulate"].wheel_sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    # its interpreter imports the dependencies and the harness (the harness's versions)
    out = _python(first.python, "import slugify, tabulate, starlette, dufflebag_harness.sdk; "
                                "print(slugify.slugify('Hello World!'), starlette.__version__)")
    assert out == f"hello-world {importlib.metadata.version('starlette')}"
    second = build_environment(deps, _opts(tmp_path, wheelhouse))
    assert second.reused and second.path == first.path and second.key == first.key
    assert second.build_s < first.build_s


def test_harness_packages_are_not_installed_again(tmp_path: Path, wheelhouse: Path) -> None:
    env = build_environment(_deps("escaper"), _opts(tmp_path, wheelhouse))
    assert [d.name for d in env.distributions] == ["escaper"]
    assert not list(env.site_packages.glob("markupsafe*"))
    assert _python(env.python, "import escaper; print(escaper.esc('<b>'))") == "&lt;b&gt;"


def test_a_requirement_against_the_harness_names_package_constraint_and_version(
        tmp_path: Path, wheelhouse: Path) -> None:
    have = importlib.metadata.version("starlette")
    with pytest.raises(DependencyError) as err:
        build_environment(_deps("starlette<0.20"), _opts(tmp_path, wheelhouse))
    message = str(err.value)
    assert "starlette" in message and "<0.20" in message and have in message
    assert SOURCE in message


def test_a_dependency_of_a_dependency_against_the_harness_is_refused(
        tmp_path: Path, wheelhouse: Path) -> None:
    write_wheel(wheelhouse, "oldweb", "1.0", {"oldweb/__init__.py": ""},
                requires=["starlette<0.20"])
    with pytest.raises(DependencyError) as err:
        build_environment(_deps("oldweb"), _opts(tmp_path, wheelhouse))
    assert "starlette" in str(err.value) and "oldweb" in str(err.value)


#: An sdist whose build records what it could see: run in the sandbox, it cannot see a
#: file of the parent's, and what it wrote into its package says so.
BUILD_REPORTS = """\
import os
from setuptools import setup

os.makedirs("buildme", exist_ok=True)
with open("buildme/__init__.py", "w") as out:
    out.write(f"SAW_PARENT_FILE = {os.path.exists(PARENT_FILE)!r}\\n")
setup(name="buildme", version="1.0", packages=["buildme"])
"""


def test_an_sdist_is_built_in_the_sandbox_never_here(tmp_path: Path, wheelhouse: Path) -> None:
    parent_file = tmp_path / "parent-only.txt"
    parent_file.write_text("the parent's")
    write_sdist(wheelhouse, "buildme", "1.0",
                f"PARENT_FILE = {str(parent_file)!r}\n" + BUILD_REPORTS)
    env = build_environment(_deps("buildme"), _opts(tmp_path, wheelhouse))
    assert env.built_in_sandbox == ("buildme-1.0.tar.gz",)
    assert [d.name for d in env.distributions] == ["buildme"]
    # the build ran where the parent's files are not: it saw no such file
    assert _python(env.python, "import buildme; print(buildme.SAW_PARENT_FILE)") == "False"
    again = build_environment(_deps("buildme"), _opts(tmp_path, wheelhouse))
    assert again.reused and again.path == env.path  # not built again


def test_an_sdist_that_fails_to_build_is_named(tmp_path: Path, wheelhouse: Path) -> None:
    write_sdist(wheelhouse, "nobuild", "1.0")
    with pytest.raises(DependencyError) as err:
        build_environment(_deps("nobuild"), _opts(tmp_path, wheelhouse))
    message = str(err.value)
    assert "building nobuild-1.0.tar.gz in the sandbox failed" in message
    assert "this package does not build" in message


def test_a_missing_package_is_named(tmp_path: Path, wheelhouse: Path) -> None:
    with pytest.raises(DependencyError, match="nosuchpackage"):
        build_environment(_deps("nosuchpackage>=1"), _opts(tmp_path, wheelhouse))


def test_a_lock_installs_by_hash_and_a_wrong_hash_is_refused(tmp_path: Path,
                                                             wheelhouse: Path) -> None:
    wheel = next(wheelhouse.glob("tabulate-*.whl"))
    import hashlib
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    locked = PythonDependencies(("tabulate",), SOURCE,
                                (LockedPin("tabulate", "0.10.0", (good,)),), "requirements.lock")
    env = build_environment(locked, _opts(tmp_path, wheelhouse))
    assert [(d.name, d.wheel_sha256) for d in env.distributions] == [("tabulate", good)]
    bad = PythonDependencies(("tabulate",), SOURCE,
                             (LockedPin("tabulate", "0.10.0", ("0" * 64,)),), "requirements.lock")
    with pytest.raises(DependencyError, match="tabulate"):
        build_environment(bad, BuildOptions(find_links=(wheelhouse,), no_index=True,
                                            cache=tmp_path / "other-cache"))


def test_pip_builds_it_when_uv_is_missing(tmp_path: Path, wheelhouse: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_module, "_uv", lambda: None)
    env = build_environment(_deps("tabulate"), _opts(tmp_path, wheelhouse))
    assert env.tool.startswith("pip ")
    out = _python(env.python, "import tabulate; print(tabulate.tabulate([[1]]))")
    assert out.split() == ["-", "1", "-"]


def test_uv_is_used_when_present(tmp_path: Path, wheelhouse: Path) -> None:
    env = build_environment(_deps("tabulate"), _opts(tmp_path, wheelhouse))
    assert env.tool.startswith("uv ")
    record = json.loads((env.path / build_module.RECORD_NAME).read_text())
    assert record["tool"] == env.tool


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("DUFFLEBAG_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DUFFLEBAG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "dufflebag-harness"


def test_an_unwritable_cache_is_exit_2_naming_it(tmp_path: Path, wheelhouse: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(DependencyError) as err:
        build_environment(_deps("tabulate"), BuildOptions(find_links=(wheelhouse,),
                                                          no_index=True, cache=blocker))
    assert str(blocker) in str(err.value) and "DUFFLEBAG_CACHE_DIR" in str(err.value)
