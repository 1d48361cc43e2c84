"""What `pip install dufflebag-harness` puts on a machine: one import name, nothing else.

The harness used to install `harness`, `conformance`, `fixtures`, `reports` and
`sample_extensions` as top-level packages; `fixtures` is a real PyPI package, and
installing the harness broke it. These tests build the real wheel and install it in a
fresh virtual environment beside PyPI's `fixtures`.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from _cli import ROOT
from _once import once_per_run

#: Folders of the repository that map into the namespace (pyproject's package-dir).
MAPPED = {"harness": "dufflebag_harness", "conformance": "dufflebag_harness.conformance",
          "fixtures": "dufflebag_harness.fixtures", "reports": "dufflebag_harness.reports"}
#: Package data folders that hold code but are not packages of ours.
DATA_TREES = ("harness/outside/runner/companion", "harness/outside/scaffold/template")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Built once per run: two builds at once would share the checkout's build/ folder."""
    with once_per_run(tmp_path_factory, worker_id, "wheel") as out:
        if not list(out.glob("dufflebag_harness-*.whl")):
            _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                 str(ROOT))
    [built] = out.glob("dufflebag_harness-*.whl")
    return built


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = set()
    for folder, name in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix()
            if any(rel == d or rel.startswith(d + "/") for d in DATA_TREES):
                continue
            sub = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *sub)))
    assert found == listed


def test_the_wheel_holds_one_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"dufflebag_harness", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    assert not [n for n in names if "/rogues/" in n or "sample_extensions" in n]
    # what the checks need ships inside: the companion extension, the scaffold, schemas
    for needed in ("dufflebag_harness/outside/runner/companion/extension.toml",
                   "dufflebag_harness/outside/scaffold/template/extension.toml.j2",
                   "dufflebag_harness/shared/protocol.schema.json",
                   "dufflebag_harness/conformance/catalog.toml",
                   "dufflebag_harness/reports/schema/report-0.schema.json",
                   "dufflebag_harness/reports/templates/report.html.j2"):
        assert needed in names, needed
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "dufflebag-cert = dufflebag_harness.outside.cli:main" in entry_points
    assert "dufflebag = dufflebag_harness.fixtures.plugin" in entry_points


def test_installed_beside_pypi_fixtures_both_still_import(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    python = str(venv / "bin" / "python")
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                .stdout.strip())
    _run(python, "-m", "pip", "install", "-q", "fixtures")
    before = {p.name for p in site.iterdir()}
    _run(python, "-m", "pip", "install", "-q", "--no-deps", str(wheel))
    added = {p.name for p in site.iterdir()} - before
    assert {n for n in added if not n.endswith(".dist-info")} == {"dufflebag_harness"}, added
    assert (venv / "bin" / "dufflebag-cert").is_file()
    probe = ("import fixtures, dufflebag_harness, importlib.util as u; "
             "assert fixtures.Fixture.__module__.startswith('fixtures'); "
             "assert u.find_spec('dufflebag_harness.sdk') is not None; "
             "print(dufflebag_harness.__version__)")
    # (run away from the checkout: `python -c` puts the working directory on sys.path)
    assert _run(python, "-c", probe, cwd=tmp_path).stdout.strip()
    _run(python, "-m", "pip", "uninstall", "-q", "-y", "dufflebag-harness")
    _run(python, "-c", "import fixtures; fixtures.Fixture", cwd=tmp_path)
