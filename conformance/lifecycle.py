"""LC — lifecycle: metadata, host range, initialize/start/stop/health, restart."""

from __future__ import annotations

from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance._registry import check
from conformance._types import REQUIRED, CheckContext, CheckFailed
from harness import HOST_API_VERSION

#: Time limits for lifecycle calls (seconds); a slow ``initialize`` delays every start.
LIMITS = {"initialize": 5.0, "start": 5.0, "stop": 5.0, "health": 1.0}


@check(id="LC-01", title="Metadata is valid and equals the manifest",
       requires=("REQ-1.1", "REQ-9.3"), severity=REQUIRED, blocked_by=())
def metadata_matches_manifest(ctx: CheckContext) -> None:
    """Make `metadata` in code and `extension.toml` say the same name, version, host range
    and dependencies; use a semantic version."""
    described = ctx.probe("describe", extension=ctx.extension)
    meta = described.get("metadata")
    if not isinstance(meta, dict):
        raise CheckFailed("the extension class has no `metadata` (harness.sdk.Metadata)")
    m = ctx.manifest
    expected: dict[str, Any] = {
        "name": m.name, "version": m.version, "host_api": m.host_api,
        "dependencies": dict(m.dependencies),
    }
    diffs = {
        key: {"manifest": want, "code": meta.get(key)}
        for key, want in expected.items() if meta.get(key) != want
    }
    if diffs:
        fields = ", ".join(sorted(diffs))
        raise CheckFailed(f"metadata in code differs from extension.toml: {fields}", diffs)
    try:
        Version(str(meta["version"]))
    except InvalidVersion:
        raise CheckFailed(f"version {meta['version']!r} is not a valid version") from None


@check(id="LC-02", title="Host-API range admits this host",
       requires=("REQ-9.1", "REQ-2.4"), severity=REQUIRED, blocked_by=())
def host_range_compatible(ctx: CheckContext) -> None:
    """Declare a `host_api` range that includes the host-API version you build against."""
    try:
        spec = SpecifierSet(ctx.manifest.host_api)
    except InvalidSpecifier:
        raise CheckFailed(f"host_api {ctx.manifest.host_api!r} is not a version range") from None
    if Version(HOST_API_VERSION) not in spec:
        raise CheckFailed(
            f"host_api {ctx.manifest.host_api!r} excludes host API {HOST_API_VERSION}",
            {"host_api": ctx.manifest.host_api, "host": HOST_API_VERSION},
        )


def _lifecycle(ctx: CheckContext) -> dict[str, Any]:
    return ctx.probe("lifecycle", extension=ctx.extension, timeout_s=max(LIMITS.values()))


@check(id="LC-03", title="Loads, starts and reports healthy within time limits",
       requires=("REQ-1.1", "REQ-6.2"), severity=REQUIRED, blocked_by=("LC-01",))
def lifecycle_within_limits(ctx: CheckContext) -> None:
    """Keep initialize/start/stop quick (seconds, not minutes); do long work in the
    background; raise nothing from initialize unless the extension truly cannot run."""
    out = _lifecycle(ctx)
    if out.get("error"):
        raise CheckFailed(f"lifecycle did not complete: {out['error']}", out)
    if out.get("load_error"):
        raise CheckFailed(f"the extension did not load: {out['load_error']}", out)
    timings: dict[str, float] = out.get("timings", {})
    slow = {k: round(v, 3) for k, v in timings.items() if k in LIMITS and v > LIMITS[k]}
    if slow:
        raise CheckFailed(
            "lifecycle calls exceeded their limits: "
            + ", ".join(f"{k} took {v:.2f} s (limit {LIMITS[k]:.0f} s)" for k, v in slow.items()),
            out,
        )
    if out.get("errors"):
        raise CheckFailed(f"lifecycle calls raised: {out['errors']}", out)
    if out.get("health") != "healthy":
        raise CheckFailed(f"health() after start reported {out.get('health')!r}", out)
    ctx.figure("lifecycle_ms", {k: round(v * 1000, 3) for k, v in timings.items()})


@check(id="LC-04", title="stop() is idempotent",
       requires=("REQ-1.1",), severity=REQUIRED, blocked_by=("LC-01", "LC-03"))
def stop_idempotent(ctx: CheckContext) -> None:
    """Make stop() safe to call twice: guard released resources, don't raise."""
    out = _lifecycle(ctx)
    if out.get("stop_again") != "ok":
        raise CheckFailed(f"a second stop() failed: {out.get('stop_again')}", out)


@check(id="LC-05", title="Restart (stop, then start) works",
       requires=("REQ-1.1", "REQ-2.3"), severity=REQUIRED, blocked_by=("LC-01", "LC-03"))
def restart_works(ctx: CheckContext) -> None:
    """After stop(), start() must bring the extension back to healthy: don't leave
    state that only initialize() can rebuild half-torn-down."""
    out = _lifecycle(ctx)
    restart = out.get("restart") or {}
    if not restart.get("ok"):
        raise CheckFailed(f"start() after stop() failed: {restart.get('error')}", out)
    if restart.get("health") != "healthy":
        raise CheckFailed(f"after restart health() reported {restart.get('health')!r}", out)
