"""Configuration: schema, defaults, refusal with the JSON path, hot reload through the host."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from analytics import Analytics

from dufflebag_harness.sdk import ConfigError


def test_defaults_are_valid_under_the_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(Analytics.config_schema)
    jsonschema.validate(dict(Analytics.default_config), Analytics.config_schema)


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"sample_rate": 1.5}, "$.sample_rate"),
        ({"sample_rate": "all"}, "$.sample_rate"),
        ({"retention_days": 0}, "$.retention_days"),
        ({"retention_days": True}, "$.retention_days"),
        ({"excluded_paths": "/healthz"}, "$.excluded_paths"),
        ({"excluded_paths": ["/ok", "no-slash"]}, "$.excluded_paths[1]"),
        ({"colour": "blue"}, "$.colour"),
    ],
)
def test_bad_config_is_refused_with_its_path_and_nothing_applied(
    config: dict[str, Any], path: str
) -> None:
    ext = Analytics()
    ext.apply_config({"sample_rate": 0.25})
    with pytest.raises(ConfigError) as info:
        ext.apply_config(config)
    assert info.value.path == path
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, Analytics.config_schema)
    assert ext.settings.sample_rate == 0.25


def test_non_mapping_config_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^\$: expected an object"):
        Analytics().apply_config(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_whole_floats_count_as_integers_as_in_json_schema() -> None:
    ext = Analytics()
    jsonschema.validate({"retention_days": 30.0}, Analytics.config_schema)
    ext.apply_config({"retention_days": 30.0})
    assert ext.settings.retention_days == 30 and isinstance(ext.settings.retention_days, int)
    with pytest.raises(ConfigError, match=r"retention_days"):
        ext.apply_config({"retention_days": 30.5})


def test_missing_keys_take_defaults() -> None:
    ext = Analytics()
    ext.apply_config({"retention_days": 7})
    assert ext.settings.retention_days == 7
    assert ext.settings.excluded_paths == tuple(Analytics.default_config["excluded_paths"])
    assert ext.settings.sample_rate == 1.0


def test_invalid_hot_reload_keeps_the_running_config(dufflebag_host: Any,
                                                     dufflebag_instance: Any) -> None:
    dufflebag_host.set_config("analytics", {"sample_rate": 0.5})
    with pytest.raises(ConfigError):
        dufflebag_host.set_config("analytics", {"sample_rate": 5})
    assert dufflebag_instance.settings.sample_rate == 0.5
    assert dufflebag_host.config("analytics")["sample_rate"] == 0.5
