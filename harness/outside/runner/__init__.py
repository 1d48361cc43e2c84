"""The certification runner (parent side): plan, drive the worker, judge, report."""

from __future__ import annotations

from dufflebag_harness.outside.runner.certify import (
    BadInput,
    CertifyOptions,
    CertifyOutcome,
    InternalError,
    certify,
)
from dufflebag_harness.outside.runner.events import EventBus

__all__ = ["BadInput", "CertifyOptions", "CertifyOutcome", "EventBus", "InternalError", "certify"]
