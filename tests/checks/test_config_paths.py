"""IS-14's hostile configurations: every string setting the schema lets take a value
aimed outside the storage area gets it; settings whose constraints refuse it keep
their value (the host would refuse the configuration before the extension saw it)."""

from __future__ import annotations

from dufflebag_harness.conformance._isolation_config_paths import (
    hostile_config,
    payloads,
    string_settings,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "export": {"type": "object", "properties": {"folder": {"type": "string"},
                                                     "keep": {"type": "integer"}}},
        "name": {"type": ["string", "null"]},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "slug": {"type": "string", "pattern": "^[a-z]+$"},
        "count": {"type": "integer"},
    },
}


def test_string_settings_are_found_at_any_depth() -> None:
    assert sorted(string_settings(SCHEMA)) == [("export", "folder"), ("mode",), ("name",),
                                               ("slug",)]


def test_hostile_values_go_where_the_schema_admits_them() -> None:
    defaults = {"export": {"folder": "out", "keep": 3}, "mode": "a", "count": 1}
    config, used = hostile_config(SCHEMA, defaults, "../../x")
    assert sorted(used) == ["export.folder", "name"]
    assert config == {"export": {"folder": "../../x", "keep": 3}, "name": "../../x",
                      "mode": "a", "count": 1}
    assert defaults["export"]["folder"] == "out"  # the defaults given are not changed


def test_every_payload_names_the_marker_and_leaves_the_area() -> None:
    values = payloads("dbh-cfg-1", "notes")
    assert all(v.endswith("dbh-cfg-1") for v in values)
    assert "../notes-dbh-cfg-1" in values  # the sibling a startswith guard lets through
    assert any(v.startswith("/") for v in values) and any(v.startswith("~") for v in values)
