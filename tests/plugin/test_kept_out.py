"""The pytest plugins of the harness's own tools stay out of an author's session unless named."""

from __future__ import annotations

from pathlib import Path

import pytest

from dufflebag_harness.fixtures.plugin import KEPT_OUT, _plugins_named

from ._project import new_project, outcomes, run_pytest

PROBE = '''
    import os

    def test_plugins(pytestconfig):
        wanted = set(filter(None, os.environ.get("EXPECT_LOADED", "").split(",")))
        for name in ("hypothesispytest", "schemathesis", "locust"):
            assert pytestconfig.pluginmanager.has_plugin(name) == (name in wanted), name
'''


@pytest.mark.parametrize(
    ("args", "env", "loaded"),
    [
        ((), {}, ""),
        (("-p", "hypothesispytest"), {}, "hypothesispytest"),
        (("-pschemathesis",), {}, "schemathesis"),
        ((), {"PYTEST_ADDOPTS": "-p locust"}, "locust"),
        (("-p", "no:dufflebag"), {}, "hypothesispytest,schemathesis,locust"),
    ],
    ids=["none-asked", "p-hypothesis", "p-glued", "addopts-env", "plugin-off"],
)
def test_only_what_is_asked_for_loads(tmp_path: Path, args: tuple[str, ...],
                                      env: dict[str, str], loaded: str) -> None:
    """Without the generated pytest.ini: the plugin's own doing, whatever the load order."""
    root = new_project(tmp_path, files={"tests/test_probe.py": PROBE})
    (root / "pytest.ini").unlink()
    junit = tmp_path / "junit.xml"
    run = run_pytest(root, *args, "tests/test_probe.py", f"--junitxml={junit}",
                     env={**env, "EXPECT_LOADED": loaded})
    assert outcomes(junit) == {"test_plugins": "passed"}, run.stdout + run.stderr


def test_dash_p_forms_are_read() -> None:
    assert _plugins_named(["-p", "a", "-pb", "-p", "no:c", "-pno:d", "x", "-p"]) == {"a", "b"}
    assert set(KEPT_OUT) == {"hypothesispytest", "schemathesis", "locust"}
