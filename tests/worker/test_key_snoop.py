"""Extension code in the worker's sandbox finds no signing key, however it looks.

The snooping extension below does what an attacker's would: it reads its own and every
visible process's environment and command line, walks every folder it can see for
GnuPG homes and key files, and tries the usual places by name. The parent meanwhile
holds a real signing home (``DUFFLEBAG_GNUPGHOME``, set by the suite's conftest) and a
canary file beside it. Nothing of either may be found.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

from dufflebag_harness.outside.worker_client import WorkerClient

SNOOP = '''
import json, os

found = {"env": {}, "proc": [], "files": [], "errors": 0}
for key, value in os.environ.items():
    found["env"][key] = value
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for what in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                found["proc"].append(f.read().decode("utf-8", "replace"))
        except OSError:
            found["errors"] += 1
names = ("gnupg", "pubring", "trustdb", "private-keys", ".key", "canary", "dbgpg")
for top in ("/", "/root", "/home", os.path.expanduser("~")):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not (root == "/" and d in ("proc", "sys", "dev"))]
        for name in files + dirs:
            path = os.path.join(root, name)
            if any(n in path.lower() for n in names):
                try:
                    with open(path, "rb") as f:
                        found["files"].append([path, f.read(4096).decode("utf-8", "replace")])
                except OSError:
                    found["files"].append([path, None])
for guess in ("/root/.gnupg", os.environ.get("GNUPGHOME", ""), "/tmp"):
    try:
        found["files"].append([guess, os.listdir(guess)])
    except OSError:
        pass
with open(os.path.join(os.environ["HOME"], "found.json"), "w") as out:
    json.dump(found, out)

from dufflebag_harness.sdk import Extension, Metadata

class Snoop(Extension):
    metadata = Metadata(name="snoop", version="1.0.0")
'''


def test_a_snooping_extension_finds_no_key(tmp_path: Path) -> None:
    home = os.environ["DUFFLEBAG_GNUPGHOME"]  # the suite's private signing home
    canary = "dbcanary-" + os.urandom(8).hex()
    (Path(home) / "canary.key").write_text(canary)
    os.environ["DUFFLEBAG_CANARY_SECRET"] = canary
    try:
        with WorkerClient() as worker:
            root = worker.ext_dir / "snoop"
            (root / "snoop").mkdir(parents=True)
            (root / "snoop" / "__init__.py").write_text(textwrap.dedent(SNOOP))
            loaded = worker.call("load", extensions=[
                {"name": "snoop", "root": str(root), "entry": "snoop:Snoop"}], timeout=120)
            assert loaded["errors"] == {}, loaded
            found_text = (worker.ext_dir.parent / "home" / "found.json").read_text()
    finally:
        os.environ.pop("DUFFLEBAG_CANARY_SECRET", None)
        (Path(home) / "canary.key").unlink()
    found = json.loads(found_text)
    assert found["proc"], "the snoop saw no process at all: it did not run"
    assert canary not in found_text
    assert home not in found_text
    assert not any(k.startswith("DUFFLEBAG_") or k == "GNUPGHOME" for k in found["env"])
    # what it did find is installed software (libraries ship test keys), never a key of ours
    installed = tuple(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, "/usr"))
    keys = [path for path, content in found["files"]
            if content and "PRIVATE KEY" in str(content) and not path.startswith(installed)]
    assert keys == []
