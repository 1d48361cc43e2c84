"""Check the Markdown docs against the code they describe: ``python docs/check_docs.py``.

Docs rot silently: a renamed option, a moved page, a snippet that no longer
parses. This finds those without a site generator:

* every relative link resolves to a file, and every ``#anchor`` to a heading;
* every page is reachable from ``docs/README.md``;
* every ``dufflebag-cert …`` command shown exists, and every ``--option`` shown
  with it is listed by that command's ``--help``;
* every ``nox -s NAME`` shown is a session of ``noxfile.py``;
* every Python, TOML, JSON and YAML block parses.

Blocks preceded by ``<!-- example: NAME -->`` are *examples*: the test suite
runs them (:func:`examples`). Exit 0 when all holds, 1 with one line per problem.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Problem", "check", "examples", "main"]

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
INDEX = "README.md"
_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)[^\n]*\n(.*?)^\1\s*$", re.M | re.S)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_INLINE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_EXAMPLE = re.compile(r"<!--\s*example:\s*(\S+)\s*-->\s*\n(```+)\w*\n(.*?)^\2\s*$", re.M | re.S)
_PLACEHOLDER = re.compile(r"<[^<>\n]*>|…|\.\.\.")
_NOX = re.compile(r"\bnox -s ([\w-]+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with where it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → ``-``."""
    text = re.sub(r"`|\*\*?|__?", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor the headings of ``text`` define (duplicates get ``-1``, ``-2``, …)."""
    seen: dict[str, int] = {}
    out = set()
    for match in _HEADING.finditer(_without_fences(text)):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def _without_fences(text: str) -> str:
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _check_links(page: Path, text: str) -> Iterator[tuple[int, str, Path | None]]:
    """``(line, problem or "", linked page)`` for every relative link of ``page``."""
    prose = _without_fences(text)
    for match in _LINK.finditer(prose):
        target = match.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        line = _line(prose, match.start())
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            yield line, f"link {target!r}: {path_part} does not exist", None
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text("utf-8")):
            yield line, f"link {target!r}: no heading #{anchor} in {dest.name}", None
            continue
        yield line, "", dest if dest.suffix == ".md" else None


def _commands(text: str) -> Iterator[tuple[int, str]]:
    """``(line, command text)`` of every ``dufflebag-cert`` invocation shown."""
    for block in _FENCE.finditer(text):
        body = block.group(3).replace("\\\n", " ")
        start = _line(text, block.start(3))
        for i, line in enumerate(body.splitlines()):
            if "dufflebag-cert " in line and block.group(2) not in ("python", "toml", "json"):
                yield start + i, line[line.index("dufflebag-cert "):].split("`")[0]
    prose = _without_fences(text)
    for match in _INLINE.finditer(prose):
        code = match.group(2).strip()
        if code.startswith("dufflebag-cert "):
            yield _line(prose, match.start()), code


def _tokens(command: str) -> list[str]:
    text = _PLACEHOLDER.sub("X", command).replace("[", " ").replace("]", " ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    try:
        for token in lexer:
            if token and set(token) <= set("();<>|&"):
                break
            words.append(token)
    except ValueError:  # an unbalanced quote in prose: take what was read
        pass
    return words[1:]  # drop "dufflebag-cert"


def _check_command(words: list[str]) -> str:
    """Why ``dufflebag-cert *words`` is not a real command (or "" when it is)."""
    import click
    from click.testing import CliRunner

    from dufflebag_harness.outside.cli import cli

    command: click.Command = cli
    path: list[str] = []
    for word in words:
        if word.startswith("-"):
            break
        if isinstance(command, click.Group):
            sub = command.commands.get(word)
            if sub is None:
                if word.replace("|", "").isalpha() and "|" in word:  # init|export|list
                    missing = [w for w in word.split("|") if w not in command.commands]
                    if missing:
                        return f"no command {' '.join([*path, missing[0]])!r}"
                    return ""
                return f"no command {' '.join([*path, word])!r}"
            command, path = sub, [*path, word]
    result = CliRunner().invoke(cli, [*path, "--help"])
    if result.exit_code != 0:
        return f"'dufflebag-cert {' '.join(path)} --help' failed: {result.output.strip()[:200]}"
    for word in words:
        option = word.split("=", 1)[0]
        if option.startswith("--") and option not in result.output:
            return f"'dufflebag-cert {' '.join(path)}' has no option {option}"
    return ""


def _nox_sessions() -> set[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text("utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if "session" in ast.unparse(deco):
                    named = re.search(r"name=['\"]([\w-]+)['\"]", ast.unparse(deco))
                    names.add(named.group(1) if named else node.name)
    return names


def _check_block(lang: str, code: str) -> str:
    try:
        if lang in ("python", "py"):
            compile(code, "<block>", "exec", dont_inherit=True)
        elif lang == "toml":
            tomllib.loads(code)
        elif lang == "json":
            json.loads(code)
        elif lang in ("yaml", "yml"):
            import yaml

            yaml.safe_load(code)
    except Exception as exc:
        return f"{lang} block does not parse: {type(exc).__name__}: {exc}"
    return ""


def check(docs: Path = DOCS) -> list[Problem]:
    """Every problem of the Markdown pages under ``docs`` (see the module docstring)."""
    problems: list[Problem] = []
    pages = sorted(docs.rglob("*.md"))
    linked: dict[Path, set[Path]] = {}
    sessions = _nox_sessions()
    verdicts: dict[tuple[str, ...], str] = {}
    for page in pages:
        text = page.read_text("utf-8")
        rel = page.relative_to(docs.parent).as_posix()
        linked[page] = set()
        for line, problem, dest in _check_links(page, text):
            if problem:
                problems.append(Problem(rel, line, problem))
            elif dest is not None:
                linked[page].add(dest)
        for line, command in _commands(text):
            words = tuple(_tokens(command))
            if words not in verdicts:
                verdicts[words] = _check_command(list(words))
            if verdicts[words]:
                problems.append(Problem(rel, line, f"{command!r}: {verdicts[words]}"))
        for match in _NOX.finditer(text):
            if match.group(1) not in sessions:
                problems.append(Problem(rel, _line(text, match.start()),
                                        f"nox has no session {match.group(1)!r} "
                                        f"(known: {', '.join(sorted(sessions))})"))
        for block in _FENCE.finditer(text):
            problem = _check_block(block.group(2).lower(), block.group(3))
            if problem:
                problems.append(Problem(rel, _line(text, block.start()), problem))
    index = docs / INDEX
    if not index.is_file():
        problems.append(Problem(index.relative_to(docs.parent).as_posix(), 1, "no index page"))
        return problems
    reached, todo = {index.resolve()}, [index.resolve()]
    while todo:
        for dest in linked.get(todo.pop(), set()):
            if dest not in reached and dest.is_relative_to(docs.resolve()):
                reached.add(dest)
                todo.append(dest)
    for page in pages:
        if page.resolve() not in reached:
            problems.append(Problem(page.relative_to(docs.parent).as_posix(), 1,
                                    f"not reachable from {INDEX}"))
    return problems


def examples(page: Path) -> dict[str, str]:
    """The runnable examples of ``page``: ``<!-- example: NAME -->`` → the block below it."""
    return {m.group(1): m.group(3) for m in _EXAMPLE.finditer(page.read_text("utf-8"))}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    docs = Path(args[0]) if args else DOCS
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    problems = check(docs)
    for problem in problems:
        print(problem)
    pages = len(list(docs.rglob("*.md")))
    print(f"docs: {pages} pages checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
