"""``[[public_routes]]``: state-changing routes declared open to anonymous callers, each
with a reason; every mistake named with its field and the line of its entry."""

from __future__ import annotations

import pytest

from dufflebag_harness.outside.loader import ManifestError, PublicRoute, load_manifest

from ._build import MINIMAL_MANIFEST, MakeExt

_FEEDBACK = """
# a comment line, so entries do not start where a naive count would put them

[[public_routes]]
method = "post"
path = "/feedback"
reason = "the anonymous feedback form of the public site"
"""


def test_declared_public_routes_are_read_with_their_reason(make_ext: MakeExt) -> None:
    m = load_manifest(make_ext(MINIMAL_MANIFEST + _FEEDBACK + """
[[public_routes]]
method = "DELETE"
path = "/feedback/{item_id}"
reason = "a visitor withdraws their own feedback with its one-time link"
"""))
    assert m.public_routes == (
        PublicRoute("POST", "/feedback", "the anonymous feedback form of the public site"),
        PublicRoute("DELETE", "/feedback/{item_id}",
                    "a visitor withdraws their own feedback with its one-time link"),
    )
    assert m.to_json()["public_routes"][1] == {
        "method": "DELETE", "path": "/feedback/{item_id}",
        "reason": "a visitor withdraws their own feedback with its one-time link"}


def test_no_declaration_means_no_public_route(make_ext: MakeExt) -> None:
    m = load_manifest(make_ext(MINIMAL_MANIFEST))
    assert m.public_routes == ()
    assert m.to_json()["public_routes"] == []


def _problems(make_ext: MakeExt, extra: str) -> str:
    with pytest.raises(ManifestError) as err:
        load_manifest(make_ext(MINIMAL_MANIFEST + extra))
    return str(err.value)


def test_missing_reason_names_the_key_and_the_line(make_ext: MakeExt) -> None:
    text = _problems(make_ext, _FEEDBACK + """
[[public_routes]]
method = "PUT"
path = "/settings"
""")
    # lines 1-4: MINIMAL_MANIFEST; 5-11: _FEEDBACK (its header on 8); 12: blank; 13: header
    assert "extension.toml: [[public_routes]][1].reason (line 13): missing required key" in text
    assert "[[public_routes]][0]" not in text


@pytest.mark.parametrize(("entry", "field", "fragment"), [
    ('method = "POST"\npath = "/x"\nreason = "   "', "reason",
     "must say why anonymous callers may use it"),
    ('method = "GET"\npath = "/x"\nreason = "r"', "method", "'GET' is not one of POST, PUT"),
    ('method = "POST"\npath = "x"\nreason = "r"', "path", "starting with '/'"),
    ('method = "POST"\npath = "/a/../b"\nreason = "r"', "path", "without '..'"),
    ('method = "POST"\npath = "/ext/analytics/x"\nreason = "r"', "path",
     "without the '/ext/<name>' prefix"),
    ('method = "POST"\npath = "/x"\nreason = "r"\nroles = ["admin"]', "roles", "unknown key"),
    ('method = "POST"\npath = "/x"\nreason = 3', "reason", "expected a string, got integer"),
])
def test_each_bad_entry_is_named(make_ext: MakeExt, entry: str, field: str,
                                 fragment: str) -> None:
    text = _problems(make_ext, f"\n[[public_routes]]\n{entry}\n")
    line = f"extension.toml: [[public_routes]][0].{field} (line 6): "
    assert line in text, text
    assert fragment in text.split(line, 1)[1].splitlines()[0]


def test_a_route_declared_twice_is_refused(make_ext: MakeExt) -> None:
    text = _problems(make_ext, _FEEDBACK + _FEEDBACK.replace("post", "POST"))
    assert "[[public_routes]][1] (line 15): POST /feedback is declared twice" in text


def test_public_routes_must_be_an_array_of_tables(make_ext: MakeExt) -> None:
    with pytest.raises(ManifestError) as err:
        load_manifest(make_ext('public_routes = "POST /feedback"\n' + MINIMAL_MANIFEST))
    text = str(err.value)
    assert "[[public_routes]]: expected an array, got string" in text
