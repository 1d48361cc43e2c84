"""What ``certify`` shows while it runs and when it ends: in a pipe, in a terminal, as JSON.

Each test runs the real command on a quick subset of checks: a rogue whose LC-01 fails
(RT-01 is then skipped, blocked by it) and the sample ``analytics``, which passes both.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _cli import ROOT, run_cli

ROGUE = ROOT / "sample_extensions" / "rogues" / "metadata_mismatch"
ANALYTICS = ROOT / "sample_extensions" / "analytics"
#: Lower case on purpose: --only takes IDs whatever their case.
QUICK = ("--profile", "quick", "--only", "lc-01,RT-01")
FAILED_LC01 = re.compile(r"^(fail|error) +LC-01@sqlite ")


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict[str, Any]]:
    """The checks as ``dufflebag-cert checks --json`` lists them."""
    listed = run_cli("checks", "--json")
    assert listed.returncode == 0, listed.stderr
    return {c["id"]: c for c in json.loads(listed.stdout)["checks"]}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _pair_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if re.match(r"^(pass|fail|error|skipped|flaky) +[A-Z]{2}-\d\d@\w+ ", line)]


# -- a pipe: one line per pair as it finishes, the verdict last ----------------------------
def test_in_a_pipe_each_pair_has_one_line_and_the_last_line_is_the_verdict(
        tmp_path: Path, catalog: dict[str, dict[str, Any]]) -> None:
    r = run_cli("certify", str(ROGUE), *QUICK, "--out", str(tmp_path / "out"))
    assert r.returncode == 1, r.stderr
    assert "\x1b" not in r.stderr + r.stdout  # no colours, no cursor movement
    pairs = _pair_lines(r.stderr)
    assert len(pairs) == 2, r.stderr
    failed = next(line for line in pairs if FAILED_LC01.match(line))
    # title, reason, fix and docs link: one unbroken line, however long
    assert catalog["LC-01"]["title"] in failed
    assert "extension.toml" in failed  # the reason names what differs
    assert _flat(catalog["LC-01"]["fix"]) in failed
    assert failed.endswith("docs: docs/checks.md#lc-01")
    assert len(failed) > 120
    assert any(line.startswith("skipped  RT-01@sqlite ") and "LC-01" in line
               for line in pairs), r.stderr
    last = r.stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("Level: failed ("), last
    assert "`verify --require-level certified` would refuse this report" in last
    assert "LC-01@sqlite" in last and "--only" in last and "development key" in last
    assert r.stdout.strip() == f"Report: {tmp_path / 'out' / 'report.html'}"


def test_a_passing_pair_has_its_line_too(tmp_path: Path,
                                         catalog: dict[str, dict[str, Any]]) -> None:
    r = run_cli("certify", str(ANALYTICS), *QUICK, "--out", str(tmp_path / "out"), "--plain")
    assert r.returncode == 3, r.stderr
    pairs = _pair_lines(r.stderr)
    assert sorted(pairs) == sorted([
        f"pass     LC-01@sqlite         {catalog['LC-01']['title']}",
        f"pass     RT-01@sqlite         {catalog['RT-01']['title']}",
    ]), r.stderr
    last = r.stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("Level: provisional (2 passed, 0 failed, 0 errors"), last
    assert "would refuse this report" in last and "certify without --only" in last


# -- a terminal: the live bar never erases a problem's line -------------------------------
_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def _screen(raw: str) -> list[str]:
    """What a terminal shows after ``raw``: enough of one to follow rich's live display
    (carriage return, line feed, cursor up, erase line; colours ignored), no wrapping."""
    lines, row, col = [""], 0, 0
    pos = 0
    while pos < len(raw):
        m = _CSI.match(raw, pos)
        if m:
            args, op = m.group(1), m.group(2)
            if op == "A":
                row = max(0, row - int(args or 1))
            elif op == "K" and args == "2":
                lines[row] = ""
            pos = m.end()
            continue
        ch = raw[pos]
        pos += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append("")
        elif ch >= " ":
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1:]
            col += 1
    return lines


def _in_a_terminal(*args: str, timeout: float = 300,
                   command: bool = False) -> tuple[int, str]:
    """Run ``dufflebag-cert ARGS`` (with ``command``: the command ARGS) on a
    pseudo-terminal; its exit code and all it wrote."""
    argv = list(args) if command else [sys.executable, "-m", "dufflebag_harness", *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with the pty as its terminal
        os.chdir(ROOT)
        os.environ.update(COLUMNS="80", LINES="24", TERM="xterm-256color")
        os.environ.pop("NO_COLOR", None)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)  # never back into the test runner
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_in_a_terminal_the_failing_pair_stays_on_screen(tmp_path: Path) -> None:
    code, raw = _in_a_terminal("certify", str(ROGUE), *QUICK, "--out", str(tmp_path / "out"))
    assert code == 1, raw
    assert "\x1b[" in raw  # it was the live display (colours, a bar), not plain lines
    screen = [line.rstrip() for line in _screen(raw)]
    failed = [line for line in screen if FAILED_LC01.match(line)]
    assert len(failed) == 1, "\n".join(screen)
    assert failed[0].endswith("docs: docs/checks.md#lc-01")
    assert [line for line in screen if line][-1].startswith("Level: failed ("), screen


def test_stdout_to_a_file_makes_the_console_plain(tmp_path: Path) -> None:
    log = tmp_path / "stdout.txt"
    code, raw = _in_a_terminal("sh", "-c", f'exec "$0" "$@" > {log}', sys.executable, "-m",
                               "dufflebag_harness", "certify", str(ANALYTICS), *QUICK,
                               "--out", str(tmp_path / "out"), command=True)
    assert code == 3, raw
    assert "\x1b" not in raw  # standard error is still the terminal: plain lines there
    assert len(_pair_lines(raw.replace("\r\n", "\n"))) == 2, raw
    assert log.read_text().startswith("Report: ")


def test_plain_in_a_terminal_writes_lines_without_escape_codes(tmp_path: Path) -> None:
    code, raw = _in_a_terminal("certify", str(ANALYTICS), *QUICK, "--plain",
                               "--out", str(tmp_path / "out"))
    assert code == 3, raw
    assert "\x1b" not in raw
    assert len(_pair_lines(raw.replace("\r\n", "\n"))) == 2, raw


# -- --json: one document on standard output, nothing else ---------------------------------
def test_json_is_all_of_stdout(tmp_path: Path, catalog: dict[str, dict[str, Any]]) -> None:
    out = tmp_path / "out"
    r = run_cli("certify", str(ROGUE), *QUICK, "--out", str(out), "--json")
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)  # the whole of stdout is the one document
    assert summary["level"] == "failed" == json.loads((out / "report.json").read_text())["level"]
    assert summary["exit_code"] == 1
    assert summary["would_verify"] is False
    assert "below the required certified" in summary["would_verify_reason"]
    assert "development key" in summary["would_verify_reason"]
    assert summary["counts"]["skipped"] >= 1
    assert summary["counts"]["fail"] + summary["counts"]["error"] == 1
    [failed] = summary["failed"]
    assert (failed["check"], failed["backend"]) == ("LC-01", "sqlite")
    assert failed["title"] == catalog["LC-01"]["title"]
    assert failed["fix"] == _flat(catalog["LC-01"]["fix"])
    assert failed["docs"] == "docs/checks.md#lc-01"
    assert failed["reason"]
    files = summary["report"]["files"]
    assert Path(files["report.json"]) == out / "report.json"
    assert all(Path(p).is_file() for p in files.values())
    assert "Level: failed" in r.stderr  # the people's view stays on stderr


def test_json_on_bad_input_is_still_one_document(tmp_path: Path) -> None:
    r = run_cli("certify", str(tmp_path / "nope"), "--json", "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    answer = json.loads(r.stdout)
    assert answer["level"] is None and answer["exit_code"] == 2
    assert "no such file or directory" in answer["error"]


# -- text from the extension cannot forge a line or move the cursor --------------------------
def test_a_reason_cannot_forge_lines_or_move_the_cursor() -> None:
    from dufflebag_harness.conformance import CheckResult, Severity, Status
    from dufflebag_harness.outside.runner.progress import pair_line

    hostile = CheckResult("LC-01", "sqlite", Status.FAIL, Severity.REQUIRED,
                          title="Metadata", reason="bad\x1b[1A\x1b[2K\r\nLevel: certified\u202e!")
    line = pair_line(hostile, "fix it")
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u202e" not in line
    assert line.startswith("fail     LC-01@sqlite ")
    assert "bad[1A[2K Level: certified!" in line
