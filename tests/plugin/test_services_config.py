"""``dufflebag_services.config`` holds what the host would apply: deep-merged and validated."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ._project import outcomes, run_pytest

MANIFEST = '''
    [extension]
    name = "nested"
    version = "1.0.0"
    entry = "nested:Nested"
    description = "nested configuration"
    license = "MIT"
    host_api = ">=1.0,<2"
'''

EXTENSION = '''
    from collections.abc import Mapping
    from typing import Any

    from dufflebag_harness.sdk import Extension, Metadata


    class Nested(Extension):
        metadata = Metadata(name="nested", version="1.0.0", description="nested configuration",
                            license="MIT", host_api=">=1.0,<2")
        config_schema = {
            "type": "object",
            "properties": {
                "limits": {"type": "object", "properties": {
                    "max": {"type": "integer", "minimum": 1},
                    "min": {"type": "integer", "minimum": 0}}},
                "label": {"type": "string"},
            },
        }
        default_config = {"limits": {"max": 3, "min": 1}, "label": "x"}

        def apply_config(self, config: Mapping[str, Any]) -> None:
            self.applied = dict(config)
'''

TESTS = '''
    import pytest


    @pytest.mark.dufflebag(config={"limits": {"max": 5}})
    def test_services_merge_nested_defaults(dufflebag_services):
        assert dufflebag_services.config.all() == {"limits": {"max": 5, "min": 1}, "label": "x"}


    @pytest.mark.dufflebag(config={"limits": {"max": 5}})
    def test_the_host_applies_the_same(dufflebag_services, dufflebag_instance):
        assert dufflebag_instance.applied == dict(dufflebag_services.config.all())


    def test_no_marker_gives_the_defaults(dufflebag_services):
        assert dufflebag_services.config.all() == {"limits": {"max": 3, "min": 1}, "label": "x"}


    @pytest.mark.dufflebag(config={"limits": {"max": 0}})
    def test_a_config_the_host_refuses(dufflebag_services):
        pass
'''


def test_services_config_is_what_the_host_applies(tmp_path: Path) -> None:
    root = tmp_path / "nested"
    (root / "nested").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "extension.toml").write_text(textwrap.dedent(MANIFEST))
    (root / "nested" / "__init__.py").write_text(textwrap.dedent(EXTENSION))
    (root / "tests" / "test_config.py").write_text(textwrap.dedent(TESTS))
    junit = tmp_path / "junit.xml"
    run = run_pytest(root, "tests", "--dufflebag-backends=sqlite", f"--junitxml={junit}")
    assert outcomes(junit) == {
        "test_services_merge_nested_defaults": "passed",
        "test_the_host_applies_the_same[sqlite]": "passed",
        "test_no_marker_gives_the_defaults": "passed",
        "test_a_config_the_host_refuses": "error",
    }, run.stdout + run.stderr
    assert "@pytest.mark.dufflebag(config=...): the host would refuse it" in run.stdout
    assert "$.limits.max" in run.stdout and "less than the minimum of 1" in run.stdout
