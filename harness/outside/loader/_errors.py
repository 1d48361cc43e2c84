"""Errors of the loader: bad manifests and bad artifacts.

Both carry enough to point the author at the exact spot (file, field or
archive member), because the CLI turns them into exit code 2 ("bad input")
and prints them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["ArtifactError", "ManifestError"]


class ManifestError(ValueError):
    """``extension.toml`` is missing, unreadable or invalid.

    ``problems`` holds every ``(field, message)`` found (field is ``""`` for a
    file-level problem such as a TOML syntax error), so an author fixes them all
    in one pass. The message has one line per problem, each starting with the
    file: ``…/extension.toml: [extension].name: 'Bad-Name' does not match …``.
    """

    def __init__(self, file: Path, problems: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.problems: tuple[tuple[str, str], ...] = tuple(problems) or (("", "invalid"),)
        super().__init__(
            "\n".join(
                f"{file}: {field}: {message}" if field else f"{file}: {message}"
                for field, message in self.problems
            )
        )

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields named by the problems (``""`` for file-level ones)."""
        return tuple(field for field, _ in self.problems)


class ArtifactError(ValueError):
    """An artifact (folder, wheel, sdist) cannot be digested or materialized.

    The message names the artifact and, where there is one, the offending
    member (``../evil`` in an archive, a FIFO in a folder).
    """
