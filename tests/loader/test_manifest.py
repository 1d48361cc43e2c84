"""``load_manifest``: every field read, every mistake named with its file and field."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from dufflebag_harness.outside.loader import (
    RESERVED_TOP_LEVEL,
    Capabilities,
    Entry,
    ManifestError,
    Suite,
    Waiver,
    load_manifest,
)
from dufflebag_harness.sdk import Capability, Permission, Quotas

from ._build import FULL_MANIFEST, MINIMAL_MANIFEST, MakeExt


def test_full_manifest_reads_every_field(make_ext: MakeExt) -> None:
    root = make_ext()
    m = load_manifest(root)
    assert (m.name, m.version) == ("analytics", "1.2.3")
    assert m.entry == Entry("analytics.extension", "Analytics")
    module, attr = m.entry
    assert (module, attr, m.entry.package) == ("analytics.extension", "Analytics", "analytics")
    assert (m.description, m.author, m.license) == ("Page-view analytics", "Ann Author", "MIT")
    assert m.homepage == "https://example.org/analytics"
    assert m.host_api == ">=1.0,<2"
    assert m.tags == ("analytics", "stats")
    assert dict(m.dependencies) == {"webhooks": ">=1.0,<2"}
    assert m.capabilities == Capabilities(("api.example.org:443",), ("/srv/shared",), True)
    assert m.capabilities.declared() == set(Capability)
    assert m.permissions == (Permission("analytics.view", "page_views", ("read", "export")),)
    assert m.quotas == Quotas(128, 8, 2, 50, 16, 3.0)
    assert m.tests == Suite(("tests",), ("analytics",))
    assert m.waivers == (
        Waiver("PE-02", "export is used by a nightly job only", dt.date(2027, 6, 30)),
    )
    assert m.root == root and m.path == root / "extension.toml"


def test_file_and_folder_give_the_same_manifest(make_ext: MakeExt) -> None:
    root = make_ext()
    assert load_manifest(root / "extension.toml") == load_manifest(root)


def test_minimal_manifest_gets_the_documented_defaults(make_ext: MakeExt) -> None:
    m = load_manifest(make_ext(MINIMAL_MANIFEST))
    assert m.host_api == ">=1.0,<2"
    assert m.quotas == Quotas()
    assert m.tests == Suite(("tests",), ("analytics",))
    assert m.capabilities.declared() == {Capability.DATABASE, Capability.STORAGE}
    assert (m.permissions, m.waivers, dict(m.dependencies), m.tags) == ((), (), {}, ())


def test_to_json_is_plain_json_without_local_paths(make_ext: MakeExt) -> None:
    root = make_ext()
    data = json.loads(json.dumps(load_manifest(root).to_json()))
    assert data["entry"] == "analytics.extension:Analytics"
    assert data["waivers"] == [
        {
            "check": "PE-02",
            "reason": "export is used by a nightly job only",
            "expires": "2027-06-30",
        }
    ]
    assert data["quotas"]["request_timeout_s"] == 3.0
    assert data["capabilities"] == {
        "network": ["api.example.org:443"],
        "filesystem": ["/srv/shared"],
        "subprocess": True,
    }
    assert str(root) not in json.dumps(data)


def test_metadata_mirrors_the_manifest(make_ext: MakeExt) -> None:
    meta = load_manifest(make_ext()).metadata()
    assert (meta.name, meta.version, meta.host_api) == ("analytics", "1.2.3", ">=1.0,<2")
    assert dict(meta.dependencies) == {"webhooks": ">=1.0,<2"}


def test_loading_never_imports_the_package(make_ext: MakeExt) -> None:
    root = make_ext()
    (root / "analytics" / "__init__.py").write_text("raise SystemExit('imported!')\n")
    load_manifest(root)
    assert "analytics" not in sys.modules


def _replace(old: str, new: str) -> str:
    assert old in FULL_MANIFEST, old
    return FULL_MANIFEST.replace(old, new, 1)


BAD = [
    (
        _replace('name = "analytics"', 'name = "Bad-Name"'),
        "[extension].name",
        "'Bad-Name' does not match ^[a-z][a-z0-9_]{1,30}$",
    ),
    (_replace('name = "analytics"', 'name = "a"'), "[extension].name", "does not match"),
    (_replace('"1.2.3"', '"1.x"'), "[extension].version", "'1.x' is not a semantic version"),
    (_replace('"1.2.3"', '"1.2"'), "[extension].version", "is not a semantic version"),
    (_replace('"1.2.3"', '"1.2.3-alpha.beta"'), "[extension].version", "PEP 440"),
    (
        _replace('"analytics.extension:Analytics"', '"analytics"'),
        "[extension].entry",
        "expected 'package.module:Class'",
    ),
    (
        _replace('"analytics.extension:Analytics"', '"analytics.extension:A.B"'),
        "[extension].entry",
        "expected 'package.module:Class'",
    ),
    (
        _replace('"analytics.extension:Analytics"', '"analytics.nope:Analytics"'),
        "[extension].entry",
        "module 'analytics.nope' not found",
    ),
    (
        _replace('"analytics.extension:Analytics"', '"missing.extension:Analytics"'),
        "[extension].entry",
        "package 'missing' not found",
    ),
    (
        _replace('host_api = ">=1.0,<2"', 'host_api = ">=1.x"'),
        "[extension].host_api",
        "invalid version specifier",
    ),
    (
        _replace('host_api = ">=1.0,<2"', 'host_api = ""'),
        "[extension].host_api",
        "invalid version specifier",
    ),
    (
        _replace('webhooks = ">=1.0,<2"', 'foo = "~~1"'),
        "[dependencies].foo",
        "invalid version specifier",
    ),
    (
        _replace('webhooks = ">=1.0,<2"', 'Foo = ">=1"'),
        "[dependencies].Foo",
        "not an extension name",
    ),
    (
        _replace('webhooks = ">=1.0,<2"', 'analytics = ">=1"'),
        "[dependencies].analytics",
        "cannot depend on itself",
    ),
    (
        _replace('webhooks = ">=1.0,<2"', "webhooks = 1"),
        "[dependencies].webhooks",
        "expected a string, got integer",
    ),
    (
        _replace('name = "analytics"', 'name = "analytics"\nnmae = "x"'),
        "[extension].nmae",
        "unknown key; did you mean 'name'?",
    ),
    (_replace("[quotas]", "[quota]"), "[quota]", "unknown table; did you mean 'quotas'?"),
    (_replace("[[permissions]]", "[[permission]]"), "[permission]", "unknown table"),
    ("stray = 1\n" + FULL_MANIFEST, "stray", "unknown top-level key"),
    (_replace('"1.2.3"', "1"), "[extension].version", "expected a string, got integer"),
    (
        _replace("subprocess = true", 'subprocess = "yes"'),
        "[capabilities].subprocess",
        "expected a boolean",
    ),
    (
        _replace('tags = ["analytics", "stats"]', 'tags = "analytics"'),
        "[extension].tags",
        "expected an array, got string",
    ),
    (_replace('name = "analytics"\n', ""), "[extension].name", "missing required key"),
    (FULL_MANIFEST.replace("[extension]", "[other]", 1), "[extension]", "missing required key"),
    (
        _replace('license = "MIT"', 'license = "Proprietary"'),
        "[extension].license",
        "not an SPDX expression",
    ),
    (
        _replace('"https://example.org/analytics"', '"ftp://example.org"'),
        "[extension].homepage",
        "not an http(s) URL",
    ),
    (
        _replace('"api.example.org:443"', '"api.example.org"'),
        "[capabilities].network[0]",
        "is not 'host:port'",
    ),
    (
        _replace('"api.example.org:443"', '"api.example.org:70000"'),
        "[capabilities].network[0]",
        "is not 'host:port'",
    ),
    (
        _replace('"/srv/shared"', '"srv/shared"'),
        "[capabilities].filesystem[0]",
        "must be an absolute path",
    ),
    (_replace('"/srv/shared"', '"/srv/../etc"'), "[capabilities].filesystem[0]", "without '..'"),
    (
        _replace("memory_mb = 128", "memory_mb = -1"),
        "[quotas].memory_mb",
        "less than the minimum of 0",
    ),
    (
        _replace("request_timeout_s = 3", "request_timeout_s = true"),
        "[quotas].request_timeout_s",
        "expected a number, got boolean",
    ),
    (
        _replace("expires = 2027-06-30", 'expires = "2027-06-30"'),
        "[[waivers]][0].expires",
        "expected a TOML date such as 2027-06-30, got string",
    ),
    (
        _replace("expires = 2027-06-30", "expires = 2027-06-30T10:00:00"),
        "[[waivers]][0].expires",
        "got datetime",
    ),
    (_replace('check = "PE-02"', 'check = "pe-2"'), "[[waivers]][0].check", "is not a check ID"),
    (
        _replace('reason = "export is used by a nightly job only"', 'reason = ""'),
        "[[waivers]][0].reason",
        "must not be empty",
    ),
    (_replace('check = "PE-02"\n', ""), "[[waivers]][0].check", "missing required key"),
    (
        FULL_MANIFEST + '\n[[waivers]]\ncheck = "PE-02"\nreason = "r"\nexpires = 2027-01-01\n',
        "[[waivers]][1].check",
        "waived twice",
    ),
    (
        FULL_MANIFEST + '\n[[permissions]]\nname = "analytics.view"\nresource = "x"\n',
        "[[permissions]][1].name",
        "duplicate permission 'analytics.view'",
    ),
    (
        _replace('actions = ["read", "export"]', "actions = []"),
        "[[permissions]][0].actions",
        "should be non-empty",
    ),
    (
        _replace('paths = ["tests"]', 'paths = ["../outside"]'),
        "[tests].paths[0]",
        "must be relative, inside the root",
    ),
    (
        _replace('paths = ["tests"]', 'paths = ["/abs"]'),
        "[tests].paths[0]",
        "must be relative, inside the root",
    ),
    (
        _replace('paths = ["tests"]', 'paths = ["spec"]'),
        "[tests].paths[0]",
        "'spec' does not exist",
    ),
    (
        _replace('source = ["analytics"]', 'source = ["os"]'),
        "[tests].source[0]",
        "standard-library module",
    ),
    (
        _replace('source = ["analytics"]', 'source = ["not a module"]'),
        "[tests].source[0]",
        "is not a module name",
    ),
]


@pytest.mark.parametrize(
    ("toml", "field", "message"), BAD, ids=[f"{i}:{case[1]}" for i, case in enumerate(BAD)]
)
def test_bad_manifest_names_file_and_field(
    make_ext: MakeExt, toml: str, field: str, message: str
) -> None:
    root = make_ext(toml)
    with pytest.raises(ManifestError) as caught:
        load_manifest(root)
    assert field in caught.value.fields
    line = next(line for line in str(caught.value).splitlines() if f": {field}: " in line)
    assert line.startswith(f"{root / 'extension.toml'}: {field}: ")
    assert message in line


@pytest.mark.parametrize(
    ("package", "reason"),
    [
        ("dufflebag_harness", "is a package of the harness"),
        ("pytest", "is a package of the test runner"),
        ("_pytest", "is a package of the test runner"),
        ("json", "is a standard-library module"),
        ("starlette", "is a library the host runs on"),
    ],
)
def test_entry_package_may_not_shadow_reserved_names(
    make_ext: MakeExt, package: str, reason: str
) -> None:
    root = make_ext(_replace('"analytics.extension:Analytics"', f'"{package}.ext:Main"'))
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "ext.py").write_text("")
    with pytest.raises(ManifestError) as caught:
        load_manifest(root)
    assert caught.value.fields == ("[extension].entry",)
    assert f"top-level package {package!r} {reason}" in str(caught.value)


def test_reserved_names_cover_ours_pytest_and_the_stdlib() -> None:
    assert "dufflebag_harness" in RESERVED_TOP_LEVEL
    # The repository's folder names are not import names once installed: an
    # extension may call its package ``fixtures`` or ``reports``.
    assert not {"harness", "conformance", "fixtures", "reports"} & RESERVED_TOP_LEVEL
    assert {"pytest", "_pytest", "pluggy", "os", "json", "asyncio"} <= RESERVED_TOP_LEVEL
    assert "analytics" not in RESERVED_TOP_LEVEL


def test_single_module_package_is_accepted(make_ext: MakeExt) -> None:
    root = make_ext(_replace('"analytics.extension:Analytics"', '"solo:Main"'))
    (root / "solo.py").write_text("")
    assert load_manifest(root).entry == Entry("solo", "Main")


def test_every_problem_is_reported_at_once(make_ext: MakeExt) -> None:
    toml = _replace('name = "analytics"', 'name = "Bad-Name"').replace('"1.2.3"', '"1.x"')
    with pytest.raises(ManifestError) as caught:
        load_manifest(make_ext(toml))
    assert {"[extension].name", "[extension].version"} <= set(caught.value.fields)
    assert len(str(caught.value).splitlines()) == len(caught.value.problems)


def test_toml_syntax_error_gives_line_and_column(make_ext: MakeExt) -> None:
    root = make_ext('[extension]\nname = "analytics"\nversion = \n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(root)
    message = str(caught.value)
    assert message.startswith(f"{root / 'extension.toml'}: TOML syntax error")
    assert "line 3, column" in message


def test_missing_manifest_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    assert str(caught.value) == f"{tmp_path}: no extension.toml in {tmp_path}"


def test_missing_file_and_archive_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(tmp_path / "nope.toml")
    wheel = tmp_path / "ext-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    with pytest.raises(ManifestError, match="is an archive"):
        load_manifest(wheel)


def test_non_utf8_manifest_is_refused(make_ext: MakeExt) -> None:
    root = make_ext()
    (root / "extension.toml").write_bytes(b'[extension]\nname = "\xff"\n')
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(root)


def test_loader_public_names_are_pinned() -> None:
    import dufflebag_harness.outside.loader

    assert set(dufflebag_harness.outside.loader.__all__) == {
        "ENTRY_POINT_GROUP", "LOCK_NAME", "MANIFEST_NAME", "RESERVED_TOP_LEVEL",
        "ArtifactDigest", "LockedPin", "PythonDependencies", "read_python_dependencies",
        "ArtifactError", "Capabilities", "Discovered", "Entry", "Manifest", "ManifestError",
        "Suite", "Waiver", "artifact_digest", "discover", "load_manifest", "materialize",
        "PublicRoute",
    }  # fmt: skip
    loader = dufflebag_harness.outside.loader
    assert all(hasattr(loader, name) for name in loader.__all__)
