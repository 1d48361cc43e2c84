"""SE-03's allow-list follows the declaration: declared dependencies may be imported,
what is only installed (a dependency of a dependency) may not, naming who provides it."""

from __future__ import annotations

from pathlib import Path

from _wheelhouse import quotes_wheelhouse

from dufflebag_harness.conformance._security_static import scan_imports
from dufflebag_harness.outside.environments import PrepareOptions, prepare
from dufflebag_harness.outside.loader import load_manifest

MANIFEST = """\
[extension]
name = "shelf"
version = "1.0.0"
entry = "shelf.extension:Shelf"
"""


def _extension(tmp_path: Path, code: str, declared: str) -> Path:
    root = tmp_path / "shelf"
    (root / "shelf").mkdir(parents=True)
    (root / "shelf" / "__init__.py").write_text("")
    (root / "shelf" / "extension.py").write_text(code)
    (root / "extension.toml").write_text(MANIFEST)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "shelf"\ndependencies = [{declared}]\n')
    return root


def _findings(tmp_path: Path, code: str, declared: str) -> list[str]:
    manifest = load_manifest(_extension(tmp_path, code, declared))
    house = quotes_wheelhouse(tmp_path / "wheelhouse")
    manifest = prepare(manifest, PrepareOptions(find_links=(house,), no_index=True,
                                                cache=tmp_path / "cache"))
    env = manifest.environment
    found, _ = scan_imports(manifest.root, ["tests"], declared=env.declared_modules,
                            installed=env.installed_modules)
    return [str(f) for f in found]


def test_declared_dependencies_may_be_imported(tmp_path: Path) -> None:
    code = "import slugify\nfrom tabulate import tabulate\nimport json\n"
    assert _findings(tmp_path, code, '"python-slugify", "tabulate"') == []


def test_an_installed_but_undeclared_import_names_its_distribution(tmp_path: Path) -> None:
    code = "import slugify\nimport text_unidecode\n"
    found = _findings(tmp_path, code, '"python-slugify"')
    assert len(found) == 1
    assert "extension.py:2" in found[0] and "not-allowed-import" in found[0]
    assert "text-unidecode" in found[0] and "not declared" in found[0]


def test_what_is_neither_declared_nor_installed_is_refused(tmp_path: Path) -> None:
    found = _findings(tmp_path, "import slugify\nimport tabulate\n", '"python-slugify"')
    assert len(found) == 1 and "extension.py:2" in found[0]
    assert "imports tabulate" in found[0] and "declared dependency" in found[0]


def test_a_declared_package_the_harness_provides_may_be_imported(tmp_path: Path) -> None:
    code = "import slugify\nimport markupsafe\n"
    assert _findings(tmp_path, code, '"python-slugify", "MarkupSafe>=2"') == []


def test_dependencies_of_extensions_loaded_beside_it_are_installed_not_allowed(
        tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    beside = load_manifest(_extension(other, "import tabulate\n", '"tabulate"'))
    root = tmp_path / "main"
    root.mkdir()
    manifest = load_manifest(_extension(root, "import tabulate\n", '"python-slugify"'))
    house = quotes_wheelhouse(tmp_path / "wheelhouse")
    manifest = prepare(manifest, PrepareOptions(find_links=(house,), no_index=True,
                                                cache=tmp_path / "cache"), also=[beside])
    env = manifest.environment
    assert {d.name for d in env.distributions} == {"python-slugify", "text-unidecode",
                                                  "tabulate"}
    assert "--with shelf" in env.source
    found, _ = scan_imports(manifest.root, ["tests"], declared=env.declared_modules,
                            installed=env.installed_modules)
    assert len(found) == 1 and "provided by tabulate" in str(found[0])
