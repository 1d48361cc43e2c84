"""The certification runner (parent side): plan, drive the worker, judge, report."""

from __future__ import annotations

from harness.runner.certify import (
    BadInput,
    CertifyOptions,
    CertifyOutcome,
    InternalError,
    certify,
)
from harness.runner.events import EventBus

__all__ = ["BadInput", "CertifyOptions", "CertifyOutcome", "EventBus", "InternalError", "certify"]
