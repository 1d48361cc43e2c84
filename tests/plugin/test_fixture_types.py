"""Every fixture has a precise type, exported from one public module, shown by --fixtures."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import dufflebag_harness.fixtures.plugin as plugin
import dufflebag_harness.fixtures.testing as testing

from ._project import new_project, outcomes, run_pytest

PLUGIN_SOURCE = Path(plugin.__file__).read_text("utf-8")


def _fixtures() -> dict[str, str]:
    """Public fixture name → its return annotation as written in the plugin's source."""
    found: dict[str, str] = {}
    for node in ast.parse(PLUGIN_SOURCE).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and any(
                "fixture" in ast.unparse(d) for d in node.decorator_list):
            assert node.returns is not None, f"{node.name} has no return annotation"
            found[node.name] = ast.unparse(node.returns)
    return found


def _yielded(annotation: str) -> str:
    """``Iterator[X]`` → ``X`` (what a yield fixture gives the test)."""
    return annotation.removeprefix("Iterator[").removesuffix("]")


def test_every_fixture_the_docs_list_is_annotated() -> None:
    fixtures = _fixtures()
    assert set(fixtures) == {
        "dufflebag_backend", "dufflebag_client", "dufflebag_db", "dufflebag_extension",
        "dufflebag_host", "dufflebag_instance", "dufflebag_portal", "dufflebag_services",
        "dufflebag_users"}
    for name, annotation in fixtures.items():
        assert _yielded(annotation) in testing.__all__, (name, annotation)


def test_no_fixture_type_is_any_anywhere_inside() -> None:
    namespace = vars(plugin)
    for name, annotation in _fixtures().items():
        resolved = eval(_yielded(annotation), namespace)  # the plugin's own names
        seen = [resolved]
        while seen:
            tp = seen.pop()
            assert tp is not typing.Any, f"{name}: {annotation} contains Any"
            seen.extend(typing.get_args(tp))
        if isinstance(resolved, type):
            assert getattr(testing, _yielded(annotation)) is resolved


def test_the_types_module_exports_what_it_names() -> None:
    for name in testing.__all__:
        assert getattr(testing, name) is not None
    assert typing.get_args(testing.Backend) == ("sqlite", "postgresql")
    assert typing.get_origin(testing.SeedUsers) is dict
    assert not any(name.startswith("Test") for name in testing.__all__), \
        "pytest would try to collect a Test* class imported into a test module"


def test_fixtures_are_instances_of_their_types_and_listed_with_them(tmp_path: Path) -> None:
    root = new_project(tmp_path, files={"tests/test_types.py": """
        import typing
        from dufflebag_harness.fixtures import testing as t

        def test_types(dufflebag_extension, dufflebag_users, dufflebag_portal,
                       dufflebag_backend, dufflebag_host, dufflebag_instance,
                       dufflebag_client, dufflebag_db, dufflebag_services):
            assert issubclass(dufflebag_extension, t.Extension)
            assert all(isinstance(u, t.SeedUser) for u in dufflebag_users.values())
            assert isinstance(dufflebag_portal, t.Portal)
            assert dufflebag_backend in typing.get_args(t.Backend)
            assert isinstance(dufflebag_host, t.Host)
            assert isinstance(dufflebag_instance, dufflebag_extension)
            assert isinstance(dufflebag_client, t.HostClient)
            assert isinstance(dufflebag_db, t.HostDatabase)
            assert isinstance(dufflebag_db.sync, t.SyncDatabase)
            assert isinstance(dufflebag_services, t.MockServices)
        """})
    junit = tmp_path / "junit.xml"
    run = run_pytest(root, "tests/test_types.py", "--dufflebag-backends=sqlite",
                     f"--junitxml={junit}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert outcomes(junit) == {"test_types[sqlite]": "passed"}

    listed = run_pytest(root, "--fixtures")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for name, annotation in _fixtures().items():
        _, _, rest = listed.stdout.partition(f"\n{name} -- ")
        assert rest, f"{name} not listed by pytest --fixtures"
        doc = rest.split("\n", 2)[1]
        assert doc.strip().startswith(f"``{_yielded(annotation)}``:"), (name, doc)


@pytest.mark.parametrize("name", sorted(_fixtures()))
def test_the_docs_table_gives_each_fixture_its_type(name: str) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md").read_text()
    annotation = _yielded(_fixtures()[name])
    row = next((line for line in doc.splitlines() if line.startswith(f"| `{name}` |")), "")
    assert f"`{annotation}`" in row, f"docs/pytest-plugin.md: no type for {name}: {row!r}"
