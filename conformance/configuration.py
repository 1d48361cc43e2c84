"""CF — configuration: a valid schema and defaults, every admitted configuration applied
without crashing, invalid ones refused with their JSON path, hot reload that
really applies, and a refused reload that leaves everything as it was.

Configurations go through the management API (``PUT /api/v1/extensions/{name}/config``
as admin) and are judged here; only what the extension instance does with
them internally comes from worker probes (``config.reload``, ``config.compare``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for

from dufflebag_harness.conformance._baseline import require_working_alone
from dufflebag_harness.conformance._configuration_gen import (
    GenerationFailed,
    admitted_configs,
    boundary_configs,
    merge_defaults,
    rejected_configs,
    schema_error,
    wrong_typed,
)
from dufflebag_harness.conformance._probing import MGMT, details, require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import calls, route_table
from dufflebag_harness.conformance._types import (
    REQUIRED,
    CheckContext,
    CheckFailed,
    CheckSkipped,
    HostHandle,
)

#: Admitted configurations tried per profile (CF-03).
EXAMPLES = {"quick": 15, "full": 50}
#: CF-03: the extension's GET routes requested after each applied configuration.
READ_BACK = 5
#: What the host's 422 detail starts with when apply_config or a callback crashed.
CRASH_PREFIXES = ("apply_config raised", "on_change callback raised")
#: CF-03: a configuration the schema admits may still be refused on purpose (a ConfigError
#: from apply_config, e.g. a cross-field rule JSON Schema cannot state); only crashes fail.
#: False makes any refusal of an admitted configuration a failure.
ACCEPT_DELIBERATE_REFUSALS = True
#: CF-05: admitted configurations offered before concluding the extension refuses reloads.
RELOAD_TRIES = 10
_LOADED = ("LC-01", "LC-03", "CF-01", "CF-02")


def _config(host: HostHandle, name: str) -> dict[str, Any]:
    r = host.request("GET", f"{MGMT}/{name}/config", as_role="admin")
    if r.status_code != 200:
        raise CheckFailed(f"GET {MGMT}/{name}/config answered {r.status_code}",
                          {"body": r.text[:300]})
    config: dict[str, Any] = r.json()["config"]
    return config


def _put(host: HostHandle, name: str, config: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    r = host.request("PUT", f"{MGMT}/{name}/config", as_role="admin", json=dict(config))
    try:
        body = r.json()
    except ValueError:
        body = {"text": r.text[:300]}
    return r.status_code, body if isinstance(body, dict) else {"body": body}


def _loaded(ctx: CheckContext) -> tuple[HostHandle, dict[str, Any], dict[str, Any]]:
    """A host with the extension, its schema (management API) and its current config."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    schema = details(host, ctx.extension).get("config_schema")
    if not isinstance(schema, dict):
        raise CheckFailed("the management API lists no config_schema object")
    return host, schema, _config(host, ctx.extension)


def _admitted(schema: Mapping[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    try:
        return admitted_configs(schema, count, seed)
    except GenerationFailed as exc:
        raise CheckSkipped(
            f"no configurations could be generated from config_schema: {exc}") from None


@check(id="CF-01", title="config_schema is a valid JSON Schema for an object",
       requires=("REQ-7.1", "REQ-7.2"), severity=REQUIRED, blocked_by=("LC-01",),
       profiles=("full",))
def schema_is_valid(ctx: CheckContext) -> None:
    """Write `config_schema` as JSON Schema draft 2020-12 (or name your draft in `$schema`)
    with `"type": "object"`; check it with `validator_for(s).check_schema(s)` (jsonschema)."""
    try:
        schema = details(ctx.host(), ctx.extension).get("config_schema")
    except CheckFailed:  # the host could not even list it: ask the class itself
        schema = ctx.probe("describe", extension=ctx.extension).get("config_schema")
    if not isinstance(schema, dict):
        raise CheckFailed(f"config_schema is {type(schema).__name__}, not a JSON Schema object")
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        where = "config_schema" + exc.json_path.removeprefix("$")
        raise CheckFailed(f"config_schema is not valid JSON Schema at {where}: {exc.message}",
                          {"path": where, "message": exc.message}) from None
    kind = schema.get("type")
    if kind is not None and "object" not in (kind if isinstance(kind, list) else [kind]):
        raise CheckFailed(f"config_schema has type {kind!r}; a configuration is an object",
                          {"type": kind})


@check(id="CF-02", title="default_config is valid against config_schema",
       requires=("REQ-7.2", "REQ-7.3"), severity=REQUIRED, blocked_by=("LC-01", "CF-01"),
       profiles=("full",))
def defaults_are_valid(ctx: CheckContext) -> None:
    """Keep `default_config` in step with `config_schema`: every default must be a value the
    schema admits, or the extension cannot start without a configuration."""
    described = ctx.probe("describe", extension=ctx.extension)
    schema, defaults = described.get("config_schema"), described.get("default_config")
    if not isinstance(defaults, dict) or not isinstance(schema, dict):
        raise CheckFailed("default_config must be an object (a mapping)",
                          {"default_config": defaults})
    error = schema_error(schema, merge_defaults(defaults, {}))
    if error:
        raise CheckFailed(f"default_config is refused by config_schema at {error[0]}: {error[1]}",
                          {"path": error[0], "message": error[1], "default_config": defaults})


@check(id="CF-03", title="Every configuration the schema admits is applied without crashing",
       requires=("REQ-7.2", "REQ-2.3", "REQ-6.1"), severity=REQUIRED,
       blocked_by=(*_LOADED, "FI-06"),  # each configuration calls every route again
       profiles=("full",))
def admitted_configs_apply(ctx: CheckContext) -> None:
    """Make `apply_config` total over what `config_schema` admits: handle every admitted value
    (zero, empty strings and lists, unicode, integral floats like 3.0); refuse deliberately with
    `ConfigError(message, path)` rather than crash, or tighten the schema."""
    host, schema, defaults = _loaded(ctx)
    configs = [*boundary_configs(schema), *_admitted(schema, EXAMPLES.get(ctx.profile, 15),
                                                     ctx.seed)]
    targets = calls(route_table(host, ctx.extension), ("GET",))[:READ_BACK]
    require_working_alone({call.label: call.send(host).status_code for call in targets})
    crashes: list[dict[str, Any]] = []
    counts = {"tried": len(configs), "applied": 0, "refused": 0}
    for config in configs:
        expected = schema_error(schema, merge_defaults(defaults, config))
        status, body = _put(host, ctx.extension, config)
        detail = str(body.get("detail", ""))
        if status >= 500 or (status == 422 and not expected and detail.startswith(CRASH_PREFIXES)):
            crashes.append({"config": config, "status": status, "answer": body})
        elif status == 422 and not expected and ACCEPT_DELIBERATE_REFUSALS:
            counts["refused"] += 1
        elif 200 <= status < 300:
            counts["applied"] += 1
            for call in targets:  # one crash per configuration: counts are of configurations
                r = call.send(host)
                if r.status_code >= 500:
                    crashes.append({"config": config, "after": call.label,
                                    "status": r.status_code, "answer": r.text[:200]})
                    break
        elif not (status == 422 and expected):
            crashes.append({"config": config, "status": status, "answer": body})
    ctx.figure("cf_admitted_configs", counts)
    if crashes:
        c = crashes[0]
        raise CheckFailed(
            f"{len(crashes)} of {len(configs)} admitted configuration(s) crashed the extension "
            f"(e.g. {c['config']} → {c.get('after', 'PUT config')} {c['status']}: "
            f"{str(c['answer'])[:200]})", {"crashes": crashes[:10], "counts": counts})


@check(id="CF-04", title="Invalid configuration is refused with its JSON path; nothing applied",
       requires=("REQ-7.2", "REQ-7.3"), severity=REQUIRED, blocked_by=_LOADED,
       profiles=("full",))
def invalid_refused_with_path(ctx: CheckContext) -> None:
    """Give every setting of `default_config` a `type` (and bounds) in `config_schema`, so a
    wrong value is refused by the host with its JSON path (`$.retries: ...`) before your code
    sees it."""
    host, schema, defaults = _loaded(ctx)
    cases: list[tuple[str, dict[str, Any]]] = wrong_typed(defaults)
    cases += [("(generated)", c) for c in rejected_configs(schema, defaults, 10, ctx.seed)]
    problems: list[dict[str, Any]] = []
    for label, config in cases:
        expected = schema_error(schema, merge_defaults(defaults, config))
        status, body = _put(host, ctx.extension, config)
        after = _config(host, ctx.extension)
        if expected is None:
            problems.append({"config": config, "status": status, "problem":
                             f"config_schema admits {config} for {label} (default "
                             f"{defaults.get(label[2:])!r}): declare its type"})
            if after != defaults:
                _put(host, ctx.extension, {})  # back to the defaults for the next case
            continue
        if status != 422 or body.get("path") != expected[0]:
            problems.append({"config": config, "status": status, "answer": body,
                             "problem": f"refused with {status} {body.get('path')!r}, "
                                        f"expected 422 naming {expected[0]}"})
        if after != defaults:
            problems.append({"config": config, "problem": "the configuration changed anyway"})
            _put(host, ctx.extension, {})
    ctx.figure("cf_invalid_configs", len(cases))
    if problems:
        raise CheckFailed(f"{len(problems)} invalid configuration(s) mishandled, e.g. "
                          f"{problems[0]['problem']}", {"problems": problems[:10]})


def _reload_target(host: HostHandle, ctx: CheckContext, schema: dict[str, Any],
                   defaults: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
    """An admitted configuration unlike the defaults that the extension accepts (applied),
    and how many such configurations were offered."""
    candidates: list[tuple[int, int, dict[str, Any]]] = []
    for config in _admitted(schema, 30, ctx.seed):
        merged = merge_defaults(defaults, config)
        if merged != defaults and schema_error(schema, merged) is None:
            changed = sum(1 for k in merged if merged[k] != defaults.get(k))
            candidates.append((-changed, len(candidates), config))
    offered = sorted(candidates, key=lambda c: c[:2])[:RELOAD_TRIES]
    for _, _, config in offered:
        if 200 <= _put(host, ctx.extension, config)[0] < 300:
            return config, len(offered)
    return None, len(offered)


@check(id="CF-05", title="A hot reload applies without restart",
       requires=("REQ-2.3", "REQ-7.4"), severity=REQUIRED, blocked_by=_LOADED,
       profiles=("full",))
def hot_reload_applies(ctx: CheckContext) -> None:
    """Apply everything in `apply_config` (or read `services.config` when you need a value):
    whatever you compute from configuration in `initialize` or `start` goes stale on reload."""
    host, schema, defaults = _loaded(ctx)
    target, offered = _reload_target(host, ctx, schema, defaults)
    if target is None and offered:
        raise CheckFailed(f"the extension refused all {offered} admitted configuration(s) "
                          "that differ from its defaults: it cannot be reconfigured without "
                          "a restart", {"offered": offered})
    if target is None:
        ctx.figure("cf_reload", "the schema admits no configuration other than the defaults")
        return
    shown = _config(host, ctx.extension)
    if shown != merge_defaults(defaults, target):
        raise CheckFailed("after a reload the management API shows another configuration",
                          {"sent": target, "shown": shown})
    out = ctx.probe("config.compare", extension=ctx.extension, base=None, target=target)
    if out.get("load_error") or (out.get("reload") or {}).get("outcome") != "applied":
        raise CheckFailed("the reload could not be repeated in a probe host", out)
    if out.get("mismatch"):
        m = out["mismatch"][0]
        raise CheckFailed(
            f"after a hot reload the extension differs from a fresh start with the same "
            f"configuration: {m['attribute']} is {m['reloaded']!r}, a fresh start has "
            f"{m['fresh']!r}", {"target": target, **out})
    ctx.figure("cf_reload_dependent_attributes", len(out.get("dependent") or []))


@check(id="CF-06", title="A refused reload keeps the old configuration, in full",
       requires=("REQ-2.3", "REQ-7.3"), severity=REQUIRED, blocked_by=_LOADED,
       profiles=("full",))
def refused_reload_keeps_old(ctx: CheckContext) -> None:
    """In `apply_config`, validate everything first and assign only at the end (build a new
    settings object, then swap it in): a refusal must leave nothing half-applied."""
    host, schema, defaults = _loaded(ctx)
    invalid = [c for _, c in wrong_typed(defaults)
               if schema_error(schema, merge_defaults(defaults, c))]
    invalid += rejected_configs(schema, defaults, 5, ctx.seed)
    problems: list[dict[str, Any]] = []
    for config in invalid:
        status, _ = _put(host, ctx.extension, config)
        if status < 400 or _config(host, ctx.extension) != defaults:
            problems.append({"config": config, "status": status,
                             "problem": "the host's configuration changed after a refusal"})
    admitted = [*boundary_configs(schema), *_admitted(schema, 25, ctx.seed + 1)]
    out = ctx.probe("config.reload", extension=ctx.extension, base=None,
                    configs=[*admitted, *invalid[:5]])
    if out.get("load_error"):
        raise CheckFailed(f"the extension did not load in a probe host: {out['load_error']}", out)
    for result in out.get("results") or []:
        if result.get("outcome") == "applied":
            continue
        if result.get("changed"):
            c = result["changed"][0]
            problems.append({"config": result["config"], "refusal": result.get("reason"),
                             "problem": f"refused, but {c['attribute']} changed from "
                                        f"{c['before']!r} to {c['after']!r}",
                             "changed": result["changed"]})
        if result.get("config_kept") is False:
            problems.append({"config": result["config"],
                             "problem": "refused, but the host's configuration changed"})
    ctx.figure("cf_refused_reloads", sum(1 for r in out.get("results") or []
                                         if r.get("outcome") != "applied"))
    if problems:
        raise CheckFailed(f"{len(problems)} refused reload(s) left something changed, e.g. "
                          f"{problems[0]['problem']} for {problems[0]['config']}",
                          {"problems": problems[:10]})
