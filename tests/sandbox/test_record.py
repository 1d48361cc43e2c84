"""The report's record of the sandbox, and the binds the sandbox refuses."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from dufflebag_harness.outside.sandbox import (
    NAMESPACES,
    SANDBOX_UID,
    SandboxRecord,
    SandboxSpec,
    SandboxSpecError,
    SandboxStatus,
    start,
)

from ._helpers import BASE_ENV, run_inside

MOUNTS = r'''
import json
mounts = {}
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    mounts[fields[4]] = "ro" if "ro" in fields[5].split(",") else "rw"
print(json.dumps(mounts))
'''


def test_the_record_is_small_json_and_deterministic(sandbox_status: SandboxStatus,
                                                   work: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    spec = SandboxSpec(env=BASE_ENV, ro_binds=(str(extra),), rw_binds=(str(work),),
                       memory_mb=768)
    record = SandboxRecord.from_spec(spec, sandbox_status).to_json()
    assert record == SandboxRecord.from_spec(spec, sandbox_status).to_json()
    assert json.loads(json.dumps(record)) == record
    assert set(record) == {"tool", "version", "namespaces", "uid", "host_uid", "network",
                           "visible", "memory_limit_mb", "rlimit"}
    assert record["tool"] == "bubblewrap"
    assert record["version"] == sandbox_status.version
    assert record["namespaces"] == sorted(NAMESPACES)
    assert (record["uid"], record["network"]) == (SANDBOX_UID, "none")
    assert (record["memory_limit_mb"], record["rlimit"]) == (768, "RLIMIT_DATA")
    assert record["host_uid"] == os.geteuid()
    paths = [entry["path"] for entry in record["visible"]]
    assert paths == sorted(paths)
    modes = {entry["path"]: entry["mode"] for entry in record["visible"]}
    assert modes[str(work)] == "rw"
    assert modes[str(extra)] == "ro"
    assert modes[sys.prefix] == "ro"
    assert modes["/usr"] == "ro"
    assert not {"/", "/root", "/home", str(Path.home())} & set(modes)


def test_the_record_matches_the_mounts_seen_inside(sandbox_status: SandboxStatus,
                                                   work: Path) -> None:
    spec = SandboxSpec(env=BASE_ENV, rw_binds=(str(work),))
    ran = run_inside(spec, MOUNTS)
    assert ran.returncode == 0, ran.stderr
    inside = json.loads(ran.stdout)
    # bwrap's own sub-mounts of /proc and /dev (proc/sys, dev/null...) are its business
    seen = {path: mode for path, mode in inside.items()
            if (path != "/" and not path.startswith(("/proc/", "/dev/"))) or path == "/dev/shm"}
    recorded = {e["path"]: e["mode"] for e in
                SandboxRecord.from_spec(spec, sandbox_status).to_json()["visible"]}
    assert inside["/"] == "ro"
    assert set(seen) == set(recorded)
    for path, mode in recorded.items():
        assert seen[path] == mode, path


@pytest.mark.parametrize("field", ["ro_binds", "rw_binds"])
@pytest.mark.parametrize("path", ["/", "/root", "/tmp", "/home", "HOME"])
def test_broad_folders_are_refused(field: str, path: str) -> None:
    path = str(Path.home()) if path == "HOME" else path
    with pytest.raises(SandboxSpecError, match="too broad"):
        SandboxRecord.from_spec(SandboxSpec(env=BASE_ENV, **{field: (path,)}),
                                SandboxStatus(True, "/usr/bin/bwrap", "0.8.0"))


def test_a_bind_through_a_symlink_is_refused(sandbox_status: SandboxStatus,
                                             tmp_path: Path) -> None:
    """A link planted in a writable folder must not redirect a later bind."""
    link = tmp_path / "innocent"
    link.symlink_to(Path.home())
    with pytest.raises(SandboxSpecError, match="symlink"):
        start(SandboxSpec(env=BASE_ENV, ro_binds=(str(link),)), ["/usr/bin/true"])


def test_a_rw_bind_the_sandbox_could_not_write_is_refused(sandbox_status: SandboxStatus,
                                                          tmp_path: Path) -> None:
    """The sandbox has no capabilities: even for a root caller, mode bits decide."""
    folder = tmp_path / "readonly"
    folder.mkdir(mode=0o555)
    with pytest.raises(SandboxSpecError, match="writable"):
        start(SandboxSpec(env=BASE_ENV, rw_binds=(str(folder),)), ["/usr/bin/true"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown a folder to nobody")
def test_a_folder_owned_by_nobody_is_not_writable_from_a_root_started_sandbox(
        sandbox_status: SandboxStatus, tmp_path: Path) -> None:
    """Why the check above exists: root's sandbox is host uid 0 without capabilities."""
    folder = tmp_path / "nobodys"
    folder.mkdir(mode=0o755)
    os.chown(folder, SANDBOX_UID, SANDBOX_UID)
    script = ("import sys\ntry:\n    open(sys.argv[1] + '/x', 'w')\n    print('wrote')\n"
              "except PermissionError:\n    print('denied')")
    # bypass the up-front refusal by binding its parent, then write into the folder
    ran = run_inside(SandboxSpec(env=BASE_ENV, rw_binds=(str(tmp_path),)), script, str(folder))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "denied"


@pytest.mark.parametrize("bad", [
    {"cwd": "relative"}, {"ro_binds": ("relative",)}, {"memory_mb": 16},
    {"env": {"A=B": "x"}}, {"env": {"A": "nul\0"}}, {"tmpfs_mb": 0},
])
def test_malformed_specs_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(SandboxSpecError):
        SandboxSpec(**bad)  # type: ignore[arg-type]
