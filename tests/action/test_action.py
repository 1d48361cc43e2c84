"""The composite GitHub Action (``action.yml``): its structure, and its shell steps run here.

GitHub is not available in a test, so :class:`LocalRunner` plays the runner for
the parts of the action that are ours: it evaluates the few expression forms
the action uses, honours ``if:``, runs every ``run:`` step with the shell
GitHub uses for ``shell: bash``, collects ``$GITHUB_OUTPUT`` and
``$GITHUB_STEP_SUMMARY``, and records (without running) the ``uses:`` steps.
``python -m pip`` is a recording shim; ``dufflebag-cert`` is this checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from _cli import ROOT, run_cli
from _once import once_per_run

ACTION = ROOT / "action.yml"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
#: Third-party actions, pinned by the full commit of a release (a tag can be moved; a
#: commit cannot), with that release named in a comment for humans and update bots.
PINNED = {
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "github/codeql-action/upload-sarif": ("5d4e8d1aca955e8d8589aabd499c5cae939e33c7", "v4.31.9"),
}
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"


def load_action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return data


# -- structure ---------------------------------------------------------------------------
def test_inputs_and_defaults() -> None:
    inputs = load_action()["inputs"]
    assert inputs["path"]["required"] is True and "default" not in inputs["path"]
    assert inputs["profile"]["default"] == "full"
    assert inputs["mode"]["default"] == "certify"
    assert inputs["required-level"]["default"] == "certified"
    assert inputs["signing-key"]["required"] is False and inputs["signing-key"]["default"] == ""
    assert re.fullmatch(r"3\.1[1-9]", inputs["python-version"]["default"])
    assert all(spec.get("description") for spec in inputs.values())


def test_a_composite_action_of_bash_and_pinned_actions() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    used = {}
    for step in steps:
        assert ("uses" in step) != ("run" in step), step.get("name")
        if "run" in step:
            assert step["shell"] == "bash", step["name"]
            assert "${{" not in step["run"], f"{step['name']}: pass values through env:"
        else:
            name, _, ref = step["uses"].partition("@")
            used[name] = ref
    assert used == {name: sha for name, (sha, _) in PINNED.items()}


def test_every_action_is_pinned_by_a_full_commit_with_its_release_named() -> None:
    lines = [line.strip() for line in ACTION.read_text().splitlines()
             if line.strip().startswith("uses:")]
    assert len(lines) == len(PINNED)
    for line in lines:
        m = re.fullmatch(r"uses: ([\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)", line)
        assert m, f"not pinned to a full commit with its release: {line}"
        assert PINNED[m.group(1)] == (m.group(2), m.group(3)), line


def test_every_expression_names_something_that_exists() -> None:
    action = load_action()
    inputs = set(action["inputs"])
    written: dict[str, set[str]] = {}
    for step in action["runs"]["steps"]:
        text = yaml.safe_dump({k: v for k, v in step.items() if k != "run"})
        exprs = EXPR.findall(text) + ([step["if"]] if "if" in step else [])
        for expr in exprs:
            for name in re.findall(r"inputs\.([\w-]+)", expr):
                assert name in inputs, f"{step['name']}: unknown input {name}"
            for sid, out in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
                assert out in written.get(sid, set()), f"{step['name']}: {sid}.{out} unset"
        if "id" in step:
            written[step["id"]] = set(re.findall(r'echo "([\w-]+)=', step.get("run", "")))
    for out in action["outputs"].values():
        [(sid, name)] = re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", out["value"])
        assert name in written[sid]


# -- running it --------------------------------------------------------------------------
@dataclass
class Run:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    conclusions: dict[str, str] = field(default_factory=dict)
    uses: dict[str, dict[str, str]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    failed: bool = False


class LocalRunner:
    """Runs ``action.yml`` in ``workspace`` with ``inputs`` (see the module docstring)."""

    def __init__(self, workspace: Path, shims: Path) -> None:
        self.workspace = workspace
        self.shims = shims
        self.temp = workspace.parent / "runner-temp"
        self.temp.mkdir(exist_ok=True)

    def value(self, expr: str, inputs: dict[str, str], run: Run) -> str:
        if expr == "github.action_path":
            return str(ROOT)
        if expr == "runner.temp":
            return str(self.temp)
        if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
            return inputs[m.group(1)]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return run.outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"expression the local runner does not know: {expr}")

    def render(self, text: str, inputs: dict[str, str], run: Run) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1), inputs, run), str(text))

    def condition(self, expr: str | None, inputs: dict[str, str], run: Run) -> bool:
        if expr is None:
            return not run.failed
        result, always = True, False
        for term in (t.strip() for t in expr.split("&&")):
            if term == "always()":
                always = True
                continue
            m = re.fullmatch(r"(\S+) (==|!=) '([^']*)'", term)
            assert m, f"condition the local runner does not know: {term}"
            equal = self.value(m.group(1), inputs, run) == m.group(3)
            result = result and (equal if m.group(2) == "==" else not equal)
        return result and (always or not run.failed)

    @staticmethod
    def argv(step: dict[str, Any]) -> list[str]:
        """How GitHub runs a ``shell: bash`` step."""
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]

    def env(self, step: dict[str, Any], inputs: dict[str, str], run: Run, output: Path,
            summary: Path) -> dict[str, str]:
        env = {**os.environ, "PATH": f"{self.shims}{os.pathsep}{os.environ['PATH']}",
               "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
               "RUNNER_TEMP": str(self.temp), "PYTHONPATH": str(ROOT)}
        env.update({k: self.render(v, inputs, run) for k, v in step.get("env", {}).items()})
        return env

    @staticmethod
    def inputs(given: dict[str, str]) -> dict[str, str]:
        inputs = {k: str(v.get("default", "")) for k, v in load_action()["inputs"].items()}
        inputs.update(given)
        return inputs

    def run(self, given: dict[str, str]) -> Run:
        action = load_action()
        inputs = self.inputs(given)
        run = Run()
        summary = self.temp / "summary.md"
        summary.write_text("")
        for step in action["runs"]["steps"]:
            sid = step.get("id") or step["name"]
            if not self.condition(step.get("if"), inputs, run):
                run.conclusions[sid] = "skipped"
                continue
            if "uses" in step:
                run.uses[step["uses"].split("@")[0]] = {
                    k: self.render(v, inputs, run) for k, v in step.get("with", {}).items()}
                run.conclusions[sid] = "recorded"
                continue
            output = self.temp / f"output-{len(run.conclusions)}"
            output.write_text("")
            proc = subprocess.run(
                self.argv(step), cwd=self.workspace,
                env=self.env(step, inputs, run, output, summary), capture_output=True,
                text=True, timeout=600, check=False)
            run.logs[sid] = proc.stdout + proc.stderr
            run.outputs[sid] = dict(line.split("=", 1)
                                    for line in output.read_text().splitlines() if "=" in line)
            run.conclusions[sid] = "success" if proc.returncode == 0 else f"exit {proc.returncode}"
            run.failed = run.failed or proc.returncode != 0
        run.summary = summary.read_text()
        return run


def _shim(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def extension(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dufflebag_harness.outside.scaffold import scaffold

    root = tmp_path_factory.mktemp("ext") / "hello"
    scaffold("hello", root)
    return root


@pytest.fixture
def runner() -> Iterator[LocalRunner]:
    # The action keeps its GnuPG home under runner.temp, whose path must stay short
    # (gpg-agent sockets); pytest's own tmp_path can be long under xdist.
    short = Path(tempfile.mkdtemp(prefix="dbact", dir="/tmp"))
    shims = short / "shims"
    shims.mkdir()
    installs = short / "pip-installs.txt"
    _shim(shims / "python", f'if [ "$1 $2" = "-m pip" ]; then echo "$@" >> "{installs}"; '
                            f'exit 0; fi\nexec "{sys.executable}" "$@"')
    _shim(shims / "dufflebag-cert", f'exec "{sys.executable}" -m dufflebag_harness "$@"')
    workspace = short / "workspace"
    workspace.mkdir()
    try:
        yield LocalRunner(workspace, shims)
    finally:
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory,
                worker_id: str) -> tuple[str, str, str]:
    """A passphrase-protected key, exported armored, as a CI secret would hold it; and its
    public key, as a verifier's keyring would. Made once per run whichever workers ask."""
    with once_per_run(tmp_path_factory, worker_id, "action-signing-key") as folder:
        kept = [folder / name for name in ("fingerprint", "secret.asc", "public.asc")]
        if not all(p.is_file() for p in kept):
            for path, text in zip(kept, _new_signing_key(), strict=True):
                path.write_text(text)
        fingerprint, armored, public = (p.read_text() for p in kept)
    return fingerprint, armored, public


def _new_signing_key() -> tuple[str, str, str]:
    """Fingerprint, armored secret key and armored public key of a new passphrase key."""
    home = Path("/tmp") / f"dbk{os.getpid()}"  # short: gpg-agent sockets
    home.mkdir(mode=0o700)
    try:
        made = run_cli("keys", "init", "--expire", "30d",
                       env={"DUFFLEBAG_GNUPGHOME": str(home),
                            "DUFFLEBAG_SIGNING_PASSPHRASE": "ci-secret"})
        assert made.returncode == 0, made.stderr
        fingerprint = made.stdout.strip()
        armored = subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
             "--passphrase", "ci-secret", "--armor", "--export-secret-keys", fingerprint],
            capture_output=True, text=True, check=True).stdout
        public = run_cli("keys", "export", fingerprint,
                         env={"DUFFLEBAG_GNUPGHOME": str(home)}).stdout
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        subprocess.run(["rm", "-rf", str(home)], check=False)
    assert armored.startswith("-----BEGIN PGP PRIVATE KEY BLOCK-----")
    assert public.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    return fingerprint, armored, public


def test_signed_provisional_run_passes_a_provisional_gate(
        runner: LocalRunner, extension: Path, signing_key: tuple[str, str, str]) -> None:
    fingerprint, armored, _ = signing_key
    run = runner.run({"path": str(extension), "signing-key": armored,
                      "signing-passphrase": "ci-secret", "args": "--only LC-01,LC-02",
                      "required-level": "provisional", "out": "reports/hello"})
    assert run.conclusions["Gate on the level"] == "success", run.logs
    assert run.outputs["certify"]["exit-code"] == "3"
    assert run.outputs["certify"]["level"] == "provisional"
    report_dir = Path(run.outputs["certify"]["report-dir"])
    assert report_dir == runner.workspace / "reports" / "hello"
    report = json.loads((report_dir / "report.json").read_text())
    assert report["signer"] == {"fingerprint": fingerprint, "development_key": False}
    installs = (runner.workspace.parent / "pip-installs.txt").read_text()
    assert installs.split() == ["-m", "pip", "install", "--disable-pip-version-check",
                                "-c", str(CONSTRAINTS), str(ROOT)]
    assert run.uses["actions/setup-python"] == {"python-version": "3.11"}
    assert run.uses["actions/upload-artifact"]["path"] == str(report_dir)
    sarif = run.uses["github/codeql-action/upload-sarif"]
    assert Path(sarif["sarif_file"]).is_file()
    assert sarif["category"] == "dufflebag/hello" == run.outputs["certify"]["sarif-category"]
    assert run.summary == (report_dir / "report.md").read_text()
    key_home = Path(run.outputs["key"]["home"])
    assert run.conclusions["Forget the signing key"] == "success" and not key_home.exists()
    assert armored not in "".join(run.logs.values())


def test_provisional_fails_a_certified_gate_with_certifys_code(
        runner: LocalRunner, extension: Path) -> None:
    run = runner.run({"path": str(extension), "args": "--only LC-02"})
    assert run.conclusions["key"] == "skipped"
    assert run.conclusions["Gate on the level"] == "exit 3"
    assert "level provisional (exit 3) is below required-level certified" in \
        run.logs["Gate on the level"]
    assert json.loads((runner.workspace / "dufflebag-certification" / "report.json")
                      .read_text())["signer"]["development_key"] is True


def test_bad_input_skips_uploads_and_says_so(runner: LocalRunner) -> None:
    run = runner.run({"path": "no/such/extension"})
    assert run.outputs["certify"]["exit-code"] == "2"
    assert run.outputs["certify"]["level"] == ""
    assert "error: no/such/extension: no such file or directory" in run.logs["certify"]
    assert run.uses == {"actions/setup-python": {"python-version": "3.11"}}
    assert run.summary.startswith("### DuffleBag certification: no report (exit 2)")
    assert run.conclusions["Gate on the level"] == "exit 2"


def test_a_key_that_is_not_a_key_stops_before_certifying(runner: LocalRunner,
                                                         extension: Path) -> None:
    run = runner.run({"path": str(extension), "signing-key": "not a key"})
    assert run.conclusions["key"].startswith("exit")
    assert run.conclusions["certify"] == "skipped"
    assert run.conclusions["Gate on the level"] == "skipped"
    assert "no report" in run.summary


def test_an_unknown_required_level_is_refused(runner: LocalRunner, extension: Path) -> None:
    run = runner.run({"path": str(extension), "args": "--only LC-02",
                      "required-level": "gold"})
    assert run.conclusions["Gate on the level"] == "exit 2"
    assert "required-level must be certified or provisional" in run.logs["Gate on the level"]


# -- installing with the tested versions ------------------------------------------------
def _install_step() -> dict[str, Any]:
    [step] = [s for s in load_action()["runs"]["steps"] if s["name"] == "Install the harness"]
    return step


def test_the_harness_is_installed_with_the_versions_it_is_tested_with(
        runner: LocalRunner) -> None:
    """The constraints file the action names is the one CI tests with, and it constrains."""
    assert CONSTRAINTS.is_file()
    pins = [line.split("==") for line in CONSTRAINTS.read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins and all(len(pin) == 2 and pin[1] for pin in pins), pins
    assert "-c .ci/constraints.txt" in (ROOT / ".ci" / "run").read_text()
    assert {name for name, _ in pins} >= {"pytest", "uv", "pip-audit"}


def test_install_refuses_a_copy_without_its_constraints(runner: LocalRunner,
                                                        tmp_path: Path) -> None:
    copy = tmp_path / "action-copy"
    copy.mkdir()
    step = _install_step()
    env = {**runner.env(step, runner.inputs({"path": "x"}), Run(), tmp_path / "o",
                        tmp_path / "s"), "ACTION_PATH": str(copy)}
    proc = subprocess.run(runner.argv(step), cwd=runner.workspace, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert f"::error::{copy}/.ci/constraints.txt is missing" in proc.stdout
    assert not (runner.workspace.parent / "pip-installs.txt").exists()


# -- args reach dufflebag-cert word for word ---------------------------------------------
@pytest.fixture
def recording_runner(runner: LocalRunner) -> LocalRunner:
    """``dufflebag-cert`` replaced by a shim that records its argv (NUL-separated)."""
    _shim(runner.shims / "dufflebag-cert",
          f'printf "%s\\0" "$@" > "{runner.temp}/argv"; exit 2')
    return runner


def _recorded(runner: LocalRunner) -> list[str]:
    return (runner.temp / "argv").read_text().split("\0")[:-1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("--pg-dsn 'host=db dbname=ext user=ci' --seed 42",
         ["--pg-dsn", "host=db dbname=ext user=ci", "--seed", "42"]),
        ('--pg-dsn "host=x dbname=y"', ["--pg-dsn", "host=x dbname=y"]),
        ("--only '*' $HOME `id` $(id)", ["--only", "*", "$HOME", "`id`", "$(id)"]),
        ("  --seed\t42\n--only LC-02 ", ["--seed", "42", "--only", "LC-02"]),
        ("", []),
    ],
    ids=["dsn-single-quotes", "dsn-double-quotes", "never-expanded", "whitespace", "none"],
)
def test_args_reach_certify_word_for_word(recording_runner: LocalRunner, extension: Path,
                                          args: str, words: list[str]) -> None:
    run = recording_runner.run({"path": str(extension), "args": args, "mode": "certify-unsigned",
                                "out": "out dir"})
    out = str(recording_runner.workspace / "out dir")
    assert _recorded(recording_runner) == [
        "certify", str(extension), "--profile", "full", "--out", out, "--unsigned", *words]
    assert run.outputs["certify"]["exit-code"] == "2"


def test_an_open_quote_in_args_is_refused_before_certify_runs(
        recording_runner: LocalRunner, extension: Path) -> None:
    run = recording_runner.run({"path": str(extension), "args": "--pg-dsn 'host=x dbname=y"})
    assert not (recording_runner.temp / "argv").exists()
    assert run.outputs["certify"]["exit-code"] == "2"
    assert "::error::args: cannot split \"--pg-dsn 'host=x dbname=y\" into arguments: " \
           "No closing quotation (close the quote)" in run.logs["certify"]
    assert run.conclusions["Gate on the level"] == "exit 2"


# -- SARIF categories in a matrix ---------------------------------------------------------
def test_each_extension_of_a_matrix_uploads_under_its_own_category(
        runner: LocalRunner, extension: Path, tmp_path: Path) -> None:
    from dufflebag_harness.outside.scaffold import scaffold

    other = tmp_path / "second"
    scaffold("second", other)
    categories = []
    for path, out in ((extension, "a"), (other, "b")):
        run = runner.run({"path": str(path), "args": "--only LC-02", "out": out,
                          "required-level": "provisional"})
        assert run.conclusions["Gate on the level"] == "success", run.logs
        categories.append(run.uses["github/codeql-action/upload-sarif"]["category"])
    assert categories == ["dufflebag/hello", "dufflebag/second"]
    chosen = runner.run({"path": str(extension), "args": "--only LC-02", "out": "c",
                         "required-level": "provisional", "sarif-category": "hello-py3.12"})
    assert chosen.uses["github/codeql-action/upload-sarif"]["category"] == "hello-py3.12"


# -- signing in a separate job -----------------------------------------------------------
def _job1(runner: LocalRunner, extension: Path) -> Run:
    """The job that runs the extension's code, with no key: an unsigned bundle."""
    return runner.run({"path": str(extension), "mode": "certify-unsigned",
                       "args": "--only LC-01,LC-02", "required-level": "provisional",
                       "out": "certification", "artifact-name": "dufflebag-bundle",
                       "upload-sarif": "false"})


def _download(job1: Run, runner: LocalRunner) -> Path:
    """What actions/download-artifact does in the second job: a copy in its workspace."""
    uploaded = Path(job1.uses["actions/upload-artifact"]["path"])
    return Path(shutil.copytree(uploaded, runner.workspace / "certification"))


@pytest.fixture
def second_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRunner]:
    """Another job: its own runner, workspace and (empty) GnuPG home."""
    short = Path(tempfile.mkdtemp(prefix="dbac2", dir="/tmp"))
    shims = short / "shims"
    shims.mkdir()
    _shim(shims / "python", f'if [ "$1 $2" = "-m pip" ]; then exit 0; fi\n'
                            f'exec "{sys.executable}" "$@"')
    _shim(shims / "dufflebag-cert", f'exec "{sys.executable}" -m dufflebag_harness "$@"')
    workspace = short / "workspace"
    workspace.mkdir()
    try:
        yield LocalRunner(workspace, shims)
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_certify_unsigned_then_sign_in_another_job_gives_a_report_verify_accepts(
        runner: LocalRunner, second_runner: LocalRunner, extension: Path,
        signing_key: tuple[str, str, str], tmp_path: Path) -> None:
    fingerprint, armored, public = signing_key
    job1 = _job1(runner, extension)
    assert job1.conclusions["key"] == "skipped"
    assert job1.conclusions["Gate on the level"] == "success", job1.logs
    assert job1.outputs["certify"]["exit-code"] == "3"
    bundle = Path(job1.outputs["certify"]["report-dir"])
    assert json.loads((bundle / "report.json").read_bytes())["signer"] is None
    assert not (bundle / "report.json.asc").exists()
    assert job1.uses["actions/upload-artifact"]["name"] == "dufflebag-bundle"
    assert "github/codeql-action/upload-sarif" not in job1.uses
    assert "**unsigned**" in job1.summary

    downloaded = _download(job1, second_runner)
    job2 = second_runner.run({"path": str(extension), "mode": "sign", "out": "certification",
                              "signing-key": armored, "signing-passphrase": "ci-secret",
                              "required-level": "provisional"})
    assert job2.conclusions["Gate on the level"] == "success", job2.logs
    assert job2.outputs["certify"] == {"exit-code": "3", "level": "provisional",
                                       "report-dir": str(downloaded),
                                       "sarif-category": "dufflebag/hello"}
    report = json.loads((downloaded / "report.json").read_bytes())
    assert report["signer"] == {"fingerprint": fingerprint, "development_key": False}
    assert job2.uses["actions/upload-artifact"]["path"] == str(downloaded)
    assert f"signed by `{fingerprint}`" in job2.summary
    assert not Path(job2.outputs["key"]["home"]).exists()
    keyring = tmp_path / "trusted.asc"
    keyring.write_text(public)
    verified = run_cli("verify", str(downloaded / "report.json"), "--keyring", str(keyring),
                       "--artifact", str(extension), "--require-level", "provisional")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_sign_refuses_a_bundle_of_another_artifact_and_uploads_nothing(
        runner: LocalRunner, second_runner: LocalRunner, extension: Path,
        signing_key: tuple[str, str, str], tmp_path: Path) -> None:
    _, armored, _ = signing_key
    job1 = _job1(runner, extension)
    downloaded = _download(job1, second_runner)
    other = Path(shutil.copytree(extension, tmp_path / "other"))
    (other / "hello" / "__init__.py").write_text("# changed after certification\n")
    job2 = second_runner.run({"path": str(other), "mode": "sign", "out": "certification",
                              "signing-key": armored, "signing-passphrase": "ci-secret",
                              "required-level": "provisional"})
    assert job2.outputs["certify"]["exit-code"] == "2"
    assert job2.outputs["certify"]["level"] == ""
    assert "not the artifact the bundle certifies (changed: hello/__init__.py)" in \
        job2.logs["certify"]
    assert "actions/upload-artifact" not in job2.uses
    assert job2.summary.startswith("### DuffleBag certification: no report (exit 2)")
    assert job2.conclusions["Gate on the level"] == "exit 2"
    assert not (downloaded / "report.json.asc").exists()


def test_the_unsigned_job_refuses_a_key(runner: LocalRunner, extension: Path,
                                       signing_key: tuple[str, str, str]) -> None:
    _, armored, _ = signing_key
    run = runner.run({"path": str(extension), "mode": "certify-unsigned",
                      "signing-key": armored, "args": "--only LC-02"})
    assert run.conclusions["key"] == "exit 2"
    assert "mode certify-unsigned runs extension code and must hold no key" in run.logs["key"]
    assert run.conclusions["certify"] == "skipped"
    assert armored not in "".join(run.logs.values())


def test_an_unknown_mode_is_refused(runner: LocalRunner, extension: Path) -> None:
    run = runner.run({"path": str(extension), "mode": "publish"})
    assert run.outputs["certify"]["exit-code"] == "2"
    assert "mode must be certify, certify-unsigned or sign, not 'publish'" in \
        run.logs["certify"]
    assert run.conclusions["Gate on the level"] == "exit 2"


# -- a cancelled job ---------------------------------------------------------------------
def test_a_cancelled_jobs_signal_reaches_certify_which_cleans_up(
        runner: LocalRunner, extension: Path) -> None:
    """GitHub signals the step's shell, not its command: the step passes it on."""
    import psutil

    [step] = [s for s in load_action()["runs"]["steps"] if s.get("id") == "certify"]
    tmp = runner.temp / "tmp"
    tmp.mkdir()
    output, summary = runner.temp / "output", runner.temp / "summary.md"
    output.write_text("")
    env = runner.env(step, runner.inputs({"path": str(extension), "profile": "quick"}), Run(),
                     output, summary)
    shell = subprocess.Popen(runner.argv(step), cwd=runner.workspace,
                             env={**env, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)

    def is_worker(proc: psutil.Process) -> bool:
        try:
            return "dufflebag_harness.inside.worker" in " ".join(proc.cmdline())
        except psutil.Error:  # gone, or a zombie, meanwhile
            return False

    def worker_started() -> list[psutil.Process]:
        found = psutil.Process(shell.pid).children(recursive=True)
        return found if any(is_worker(p) for p in found) else []

    try:
        deadline = time.monotonic() + 90
        while not (descendants := worker_started()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert descendants, "certify never started a worker"
        pids = {p.pid for p in descendants}
        clusters = [owner.parent for owner in Path("/tmp").glob("dbpg*/owner.json")
                    if json.loads(owner.read_text()).get("pid") in pids]
        shell.send_signal(signal.SIGTERM)  # to the shell alone, as the runner does
        log, _ = shell.communicate(timeout=60)
    finally:
        if shell.poll() is None:  # the test failed: leave no run behind it
            for proc in [*psutil.Process(shell.pid).children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            shell.kill()
            shell.wait()
    assert shell.returncode == 0, log
    assert "interrupted by SIGTERM: no report written" in log
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["exit-code"] == "143" and outputs["level"] == ""
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == []
    assert sorted(p.name for p in tmp.iterdir()) == []
    assert [c for c in clusters if c.exists()] == []
