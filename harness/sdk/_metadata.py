"""Metadata and health types: what an extension says about itself."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
"""Extension names: a URL segment, a schema ``ext_{name}`` and a role name."""


@dataclass(frozen=True)
class Metadata:
    """Identity of an extension. Must agree with its ``extension.toml``.

    ``host_api`` is a PEP 440 specifier on the host-API version (e.g. ``">=1.0,<2"``);
    ``dependencies`` maps other extensions' names to version specifiers.
    """

    name: str
    version: str
    description: str = ""
    author: str = ""
    license: str = ""
    homepage: str = ""
    host_api: str = ">=1.0,<2"
    dependencies: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


class Health(enum.StrEnum):
    """Overall health an extension reports."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class HealthStatus:
    """Answer of :meth:`Extension.health`: a state plus named sub-checks."""

    status: Health = Health.HEALTHY
    checks: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
