"""The check registry and the checked-in catalog it must equal.

Like schemathesis' check registry: a small mapping of named checks, filled by a
decorator at import time. Tests take a :meth:`Registry.snapshot` instead of
resetting global state.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from dufflebag_harness.conformance._types import BACKENDS, CheckFunc, CheckSpec, Severity

ID_PATTERN = re.compile(r"^[A-Z]{2}-\d{2}$")


class RegistryError(Exception):
    """A check was registered twice or is malformed."""


class CatalogMismatch(Exception):
    """The registry differs from ``conformance/catalog.toml``: refuse to certify."""


class Registry:
    """Checks by ID, in registration order."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckSpec] = {}

    def add(self, spec: CheckSpec) -> None:
        if not ID_PATTERN.match(spec.id):
            raise RegistryError(f"check id {spec.id!r} is not of the form AREA-NN")
        if spec.id in self._checks:
            raise RegistryError(f"check id {spec.id} is registered twice")
        unknown = [b for b in spec.backends if b not in BACKENDS]
        if unknown or not spec.backends:
            raise RegistryError(f"check {spec.id}: backends {spec.backends!r} invalid")
        self._checks[spec.id] = spec

    def __getitem__(self, check_id: str) -> CheckSpec:
        return self._checks[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __iter__(self) -> Iterator[CheckSpec]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def as_dict(self) -> dict[str, CheckSpec]:
        return dict(self._checks)

    def snapshot(self) -> Registry:
        """A copy tests may add to without touching the global registry."""
        copy = Registry()
        copy._checks = dict(self._checks)
        return copy

    def listing(self) -> list[dict[str, Any]]:
        """The catalog entries this registry implies, sorted by ID."""
        return [catalog_entry(s) for s in sorted(self._checks.values(), key=lambda s: s.id)]


def catalog_entry(spec: CheckSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "title": spec.title,
        "severity": spec.severity.value,
        "backends": list(spec.backends),
        "requires": list(spec.requires),
    }


def catalog_version(listing: Sequence[dict[str, Any]]) -> str:
    """Hash of the catalog listing; reports name it, ``verify`` recomputes it."""
    canon = json.dumps(
        sorted(listing, key=lambda e: e["id"]), sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()


@dataclass(frozen=True)
class Catalog:
    """The checked-in catalog: every check that exists, by ID."""

    entries: tuple[dict[str, Any], ...]

    @property
    def version(self) -> str:
        return catalog_version(self.entries)

    def required_pairs(self) -> list[str]:
        return sorted(
            f"{e['id']}@{b}" for e in self.entries if e["severity"] == "required"
            for b in e["backends"]
        )


def load_catalog(text: str | None = None) -> Catalog:
    """Parse ``catalog.toml`` (the packaged one unless ``text`` is given)."""
    if text is None:
        text = resources.files(__package__).joinpath("catalog.toml").read_text("utf-8")
    data = tomllib.loads(text)
    entries = []
    for raw in data.get("check", []):
        entries.append(
            {
                "id": raw["id"],
                "title": raw["title"],
                "severity": raw["severity"],
                "backends": list(raw["backends"]),
                "requires": list(raw.get("requires", [])),
            }
        )
    return Catalog(tuple(sorted(entries, key=lambda e: e["id"])))


def verify_against_catalog(registry: Registry, catalog: Catalog) -> None:
    """Raise :class:`CatalogMismatch` naming every difference."""
    have = {e["id"]: e for e in registry.listing()}
    want = {e["id"]: e for e in catalog.entries}
    problems = [f"{i}: registered but not in catalog.toml" for i in sorted(have.keys() - want)]
    problems += [f"{i}: in catalog.toml but not registered" for i in sorted(want.keys() - have)]
    for i in sorted(have.keys() & want.keys()):
        for key in ("title", "severity", "backends", "requires"):
            if have[i][key] != want[i][key]:
                problems.append(
                    f"{i}: {key} is {have[i][key]!r} in code, {want[i][key]!r} in catalog"
                )
    if problems:
        raise CatalogMismatch("registry differs from conformance/catalog.toml:\n  " +
                              "\n  ".join(problems))


REGISTRY = Registry()


def check(
    *,
    id: str,
    title: str,
    requires: Sequence[str],
    severity: Severity,
    backends: Sequence[str] = ("sqlite",),
    fix: str = "",
    blocked_by: Sequence[str] = ("LC-01", "LC-03"),
    profiles: Sequence[str] = ("full", "quick"),
    exclusive: bool = False,
    after: Sequence[str] = (),
    rerun_on_fail: bool = True,
    fresh_worker: bool = False,
    registry: Registry | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check function under a stable ID.

    The function receives a :class:`~dufflebag_harness.conformance.CheckContext` and raises
    :class:`~dufflebag_harness.conformance.CheckFailed` with evidence when the extension
    violates it. ``exclusive`` checks run with no other check beside them (timing);
    ``after`` names checks that must have finished first whatever their verdict;
    ``profiles`` name the profiles that run the check; ``rerun_on_fail=False`` keeps a
    failure a failure (no re-run that could call it flaky); ``fresh_worker`` runs it in a
    worker process no other check ran in.
    """

    def deco(func: CheckFunc) -> CheckFunc:
        spec = CheckSpec(
            id=id,
            title=title,
            requires=tuple(requires),
            severity=severity,
            backends=tuple(backends),
            func=func,
            fix=fix or (func.__doc__ or "").strip(),
            blocked_by=tuple(b for b in blocked_by if b != id),
            profiles=tuple(profiles),
            exclusive=exclusive,
            after=tuple(a for a in after if a != id),
            rerun_on_fail=rerun_on_fail,
            fresh_worker=fresh_worker,
        )
        (registry if registry is not None else REGISTRY).add(spec)
        return func

    return deco


def render_catalog(registry: Registry) -> str:
    """The ``catalog.toml`` text that matches ``registry`` (for reviewed updates)."""
    lines = [
        "# The conformance catalog: every check that exists. Reports name its hash.",
        "# The runner refuses to start when the registered checks differ from this file.",
        "# Regenerate with "
        "`python -m dufflebag_harness.conformance.catalog > conformance/catalog.toml`",
        "# and review the diff: a changed line changes what certification means.",
        "",
    ]
    for e in registry.listing():
        lines += [
            "[[check]]",
            f"id = {json.dumps(e['id'])}",
            f"title = {json.dumps(e['title'], ensure_ascii=False)}",
            f"severity = {json.dumps(e['severity'])}",
            f"backends = {json.dumps(e['backends'])}",
            f"requires = {json.dumps(e['requires'])}",
            "",
        ]
    return "\n".join(lines)
