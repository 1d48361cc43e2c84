"""SE-06: fake credentials planted in every worker, searched in everything that leaves it.

What a user sees: each worker gets values of its own, at the places the labels name
(environment variables, credential files in HOME); an extension that hands one out —
in a response body or header, on its console, in a file in its storage — fails SE-06
with a reason naming the credential and the place; good extensions pass; and the
report, whatever leaked, never holds a value in any form the harness searches for.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from dufflebag_harness.conformance._security_canaries import mask, needles, search
from dufflebag_harness.outside import worker_client
from dufflebag_harness.outside.runner import CertifyOptions, certify
from dufflebag_harness.outside.worker_client import WorkerClient

ROOT = Path(__file__).resolve().parents[2]

#: Run by the worker at import: what the sandboxed side sees of the planted values.
LOOK = '''
import json, os, stat

seen = {"env": dict(os.environ), "files": {}}
home = os.path.expanduser("~")
for folder, _dirs, files in os.walk(home):
    for name in files:
        path = os.path.join(folder, name)
        rel = os.path.relpath(path, home)
        with open(path, encoding="utf-8", errors="replace") as fh:
            seen["files"][rel] = {"text": fh.read(), "mode": stat.S_IMODE(os.stat(path).st_mode)}
with open(os.path.join(home, "seen.json"), "w") as out:
    json.dump(seen, out)

from dufflebag_harness.sdk import Extension, Metadata

class Look(Extension):
    metadata = Metadata(name="look", version="1.0.0")
'''


def _inside(worker: WorkerClient) -> dict[str, Any]:
    root = worker.ext_dir / "look"
    (root / "look").mkdir(parents=True)
    (root / "look" / "__init__.py").write_text(LOOK)
    loaded = worker.call("load", extensions=[
        {"name": "look", "root": str(root), "entry": "look:Look"}], timeout=120)
    assert loaded["errors"] == {}, loaded
    seen: dict[str, Any] = json.loads((worker.ext_dir.parent / "home" / "seen.json").read_text())
    return seen


def test_each_worker_has_its_own_values_where_the_labels_say() -> None:
    with WorkerClient() as first, WorkerClient() as second:
        planted = [dict(first.canaries), dict(second.canaries)]
        seen = _inside(first)
    assert set(planted[0]) == set(planted[1])
    assert len(planted[0]) >= 8
    # fresh per worker: not one value is shared
    assert not set(planted[0].values()) & set(planted[1].values())
    with pytest.raises(TypeError):
        first.canaries["environment variable GITHUB_TOKEN"] = "x"  # type: ignore[index]
    for label, value in planted[0].items():
        kind, _, where = label.partition(" ")
        if kind == "environment":
            assert seen["env"][where.removeprefix("variable ")] == value, label
        else:
            assert kind == "file", label
            pattern = re.compile(re.escape(where.removeprefix("~/")).replace(r"\*", "[^/]+"))
            hits = [f for rel, f in seen["files"].items() if pattern.fullmatch(rel)]
            assert len(hits) == 1, (label, sorted(seen["files"]))
            assert value in hits[0]["text"], label
            assert hits[0]["mode"] == 0o600, label  # as the real tools leave them
    # shaped like the real thing
    env = seen["env"]
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", env["AWS_ACCESS_KEY_ID"])
    assert re.fullmatch(r"ghp_[0-9a-f]{36}", env["GITHUB_TOKEN"])
    key = planted[0]["file ~/.ssh/id_ed25519"]
    assert key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert key.endswith("-----END OPENSSH PRIVATE KEY-----\n")


# -- searching ----------------------------------------------------------------------------
CANARIES = {
    "environment variable GITHUB_TOKEN": "ghp_" + "4f1c0a9e" * 4 + "beef",
    "file ~/.gnupg/private-keys-v1.d/*.key": "0A1B2C3D4E5F" * 5 + "A1B2",
    "file ~/.ssh/id_ed25519": ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
                               "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0\nc2hvcnQ=\n"
                               "-----END OPENSSH PRIVATE KEY-----\n"),
    "environment variable AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
}
TOKEN = CANARIES["environment variable GITHUB_TOKEN"]
AWS = CANARIES["environment variable AWS_SECRET_ACCESS_KEY"]


def _found(data: bytes) -> dict[str, str]:
    return {leak.label: leak.encoding for leak in search(needles(CANARIES), "here", data)}


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", '{"log": "x'])
def test_base64_is_found_at_any_offset(prefix: str) -> None:
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        data = encode((prefix + TOKEN + " trailing").encode())
        assert _found(data) == {"environment variable GITHUB_TOKEN": "base64"}
    wrapped = base64.encodebytes(("x" * 40 + AWS).encode())  # MIME lines of 76
    assert _found(wrapped) == {"environment variable AWS_SECRET_ACCESS_KEY": "base64"}


@pytest.mark.parametrize(("data", "label", "encoding"), [
    (f"token={TOKEN}".encode(), "environment variable GITHUB_TOKEN", "plain"),
    (TOKEN.encode().hex().upper().encode(), "environment variable GITHUB_TOKEN", "hex"),
    (quote(AWS, safe="").lower().encode(), "environment variable AWS_SECRET_ACCESS_KEY",
     "URL-quoted"),
    (TOKEN[::-1].encode(), "environment variable GITHUB_TOKEN", "reversed"),
    # a hex secret in another case is the same secret
    (CANARIES["file ~/.gnupg/private-keys-v1.d/*.key"].lower().encode(),
     "file ~/.gnupg/private-keys-v1.d/*.key", "plain"),
    # one line of a key block is enough; JSON keeps the lines apart with "\n"
    (json.dumps({"k": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"}).encode(),
     "file ~/.ssh/id_ed25519", "plain"),
])
def test_each_encoding_is_named(data: bytes, label: str, encoding: str) -> None:
    assert _found(data) == {label: encoding}


def test_what_is_not_a_value_is_not_a_leak() -> None:
    near = [TOKEN[:-1], "-----BEGIN OPENSSH PRIVATE KEY-----", "c2hvcnQ=",  # short line
            AWS[:10], json.dumps(sorted(CANARIES))]
    assert _found("\n".join(near).encode()) == {}


def test_excerpts_are_masked_before_they_are_cut() -> None:
    found = needles(CANARIES)
    body = json.dumps({"a": "x" * 150, "token": TOKEN, "aws": AWS,
                       "b64": base64.b64encode(AWS.encode()).decode(), "z": "y" * 150})
    for around in (10, 40, 80, 200):
        excerpt = mask(body.encode(), found, around=around)
        assert "[canary: environment variable GITHUB_TOKEN]" in excerpt
        for value in (TOKEN, AWS):
            # not even a part of a value long enough to matter survives at an edge
            parts = {value[i:i + 8] for i in range(len(value) - 7)}
            assert not any(part in excerpt for part in parts), (around, excerpt)


# -- certification ------------------------------------------------------------------------
MANIFEST = """\
[extension]
name = "{name}"
version = "1.0.0"
entry = "{name}.extension:Leaky"
description = "A leaky test extension"
author = "DuffleBagBase tests"
license = "MIT"
homepage = "https://example.org/{name}"
host_api = ">=1.0,<2"
"""
CODE = """\
from __future__ import annotations

import base64
import os

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Leaky(Extension):
    metadata = Metadata(name="{name}", version="1.0.0")

    async def initialize(self, services):
        self.services = services
{start}
    def register_routes(self, router: Router) -> None:
        router.get("/info", self.info)

    async def info(self, request: Request) -> Response:
        headers, body = {{}}, {{"ok": True}}
{info}
        return JSONResponse(body, headers=headers)
"""
#: channel -> (code in start(), code in the /info handler, label, where the reason says)
CHANNELS = {
    "body": ("", """\
        if request.query_params.get("verbose"):
            body["db"] = os.environ["DATABASE_PASSWORD"][::-1]""",
             "environment variable DATABASE_PASSWORD",
             "in the response to GET /ext/leak_body/info?verbose=true", "reversed"),
    "header": ("", """\
        headers["X-Trace"] = base64.b64encode(os.environ["GITHUB_TOKEN"].encode()).decode()""",
               "environment variable GITHUB_TOKEN",
               "in the response to GET /ext/leak_header/info as admin", "base64"),
    "console": ("""\
    async def start(self):
        with open(os.path.expanduser("~/.netrc")) as fh:
            print("loaded", fh.read(), flush=True)
""", "", "file ~/.netrc", "in stdout/stderr (read by the parent)", ""),
    "storage": ("""\
    async def start(self):
        with open(os.path.expanduser("~/.aws/credentials"), "rb") as fh:
            await self.services.storage.write("backup/aws.txt", fh.read())
""", "", "file ~/.aws/credentials", "in storage file leak_storage/backup/aws.txt", ""),
}


def _extension(root: Path, name: str, start: str, info: str, manifest: str = "") -> Path:
    folder = root / name
    (folder / name).mkdir(parents=True)
    (folder / "extension.toml").write_text(MANIFEST.format(name=name) + manifest)
    (folder / name / "__init__.py").write_text("")
    (folder / name / "extension.py").write_text(
        CODE.format(name=name, start=start, info=info or "        pass"))
    return folder


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Every value planted in the workers of a certification, as the test's own record."""
    made: list[dict[str, str]] = []
    plant = worker_client._plant_canaries

    def recording(home: Path) -> tuple[dict[str, str], dict[str, str]]:
        env, labels = plant(home)
        made.append(dict(labels))
        return env, labels

    monkeypatch.setattr(worker_client, "_plant_canaries", recording)
    return made


def _assert_no_value_in(out_dir: Path, planted: list[dict[str, str]]) -> None:
    """No file of the run's output holds a planted value, in any form SE-06 looks for."""
    assert planted, "no worker was started"
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in files)
    forms = [form for labels in planted for form in needles(labels)]
    for path in files:
        data = path.read_bytes()
        hits = {form.label for form in forms
                if (form.data.lower() in data.lower() if form.fold else form.data in data)}
        assert hits == set(), f"{path.name} holds {sorted(hits)}"


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_a_leak_through_each_channel_fails_naming_it(
        channel: str, tmp_path: Path, planted: list[dict[str, str]]) -> None:
    start, info, label, where, encoding = CHANNELS[channel]
    name = f"leak_{channel}"
    root = _extension(tmp_path / "src", name, start, info)
    outcome = certify(CertifyOptions(path=root, out=tmp_path / "out", profile="quick",
                                     only=["SE-06", "LC-01"], seed=1))
    results = {r["check"]: r for r in outcome.report["results"] if r["status"] != "skipped"}
    assert results["LC-01"]["status"] == "pass", results["LC-01"]["reason"]
    se06 = results["SE-06"]
    assert se06["status"] == "fail", se06["reason"]
    assert se06["self_reported"] is False  # judged from what the parent received
    assert f"{label} {where}" in se06["reason"]
    if encoding:
        assert f"({encoding})" in se06["reason"]
    assert [leak["canary"] for leak in se06["evidence"]["leaks"]] == [label]
    assert outcome.level == "failed"
    _assert_no_value_in(outcome.out_dir, planted)


@pytest.mark.slow  # the harness waits out a two-requests-a-second quota
def test_a_rate_limit_does_not_hide_a_leak(tmp_path: Path) -> None:
    """Two requests a second: most of the harness's requests are first refused with 429,
    the one that leaks (the eighth undocumented parameter) among them."""
    root = _extension(tmp_path / "src", "leak_slow", "", """\
        if request.query_params.get("internal"):
            body["k"] = os.environ["AWS_ACCESS_KEY_ID"]""",
                      "\n[quotas]\nrequests_per_second = 2\n")
    outcome = certify(CertifyOptions(path=root, out=tmp_path / "out", profile="quick",
                                     only=["SE-06", "LC-01"], seed=1))
    se06 = next(r for r in outcome.report["results"] if r["check"] == "SE-06")
    assert se06["status"] == "fail", se06["reason"]
    assert ("environment variable AWS_ACCESS_KEY_ID in the response to "
            "GET /ext/leak_slow/info?internal=1 as admin") in se06["reason"]


@pytest.mark.parametrize("name", ["debug_dump", "home_secrets", "storage_stash"])
def test_rogue_reports_hold_no_value(name: str, tmp_path: Path,
                                     planted: list[dict[str, str]]) -> None:
    outcome = certify(CertifyOptions(path=ROOT / "sample_extensions" / "rogues" / name,
                                     out=tmp_path / "out", profile="quick",
                                     only=["SE-06", "LC-01"], seed=2))
    se06 = next(r for r in outcome.report["results"] if r["check"] == "SE-06")
    assert se06["status"] == "fail"
    assert se06["evidence"]["examples"]  # an excerpt is shown, masked
    _assert_no_value_in(outcome.out_dir, planted)


@pytest.mark.parametrize("sample", ["analytics", "webhooks"])
def test_good_samples_pass_after_every_route_was_tried(sample: str, tmp_path: Path) -> None:
    outcome = certify(CertifyOptions(path=ROOT / "sample_extensions" / sample,
                                     out=tmp_path / "out", profile="quick",
                                     only=["SE-06", "LC-01"], seed=3))
    se06 = next(r for r in outcome.report["results"] if r["check"] == "SE-06")
    assert se06["status"] == "pass", se06["reason"]
    assert se06["self_reported"] is False
    searched = outcome.report["figures"]["canaries_searched"]
    assert searched["requests"] > 10
    assert "file ~/.ssh/id_ed25519" in searched["canaries"]
