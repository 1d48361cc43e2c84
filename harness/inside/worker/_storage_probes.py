"""Isolation probes inside a running host: storage escapes and the configuration view.

``storage.plant`` puts sentinel files where an extension must never reach —
a neighbour's storage area, a folder outside every storage area, symlinks in
the extension's own area pointing at both — and returns hostile paths aimed at
them. ``storage.attack`` then feeds those paths to every storage the extension
holds (the host's service and any storage-like helper on the instance), looks
for written markers outside the root, and removes everything it planted.
``config.view`` returns the configuration section the extension is handed.
The parent decides; these only report.
"""

from __future__ import annotations

import inspect
import io
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["NEIGHBOUR", "PROBES"]

#: The fake neighbour whose storage area the sentinels sit in.
NEIGHBOUR = "dbh_neighbour"
_CALL_TIMEOUT_S = 5.0


@dataclass
class _Planted:
    root: Path
    markers: dict[str, str]
    payloads: list[str]
    cleanup: list[Path] = field(default_factory=list)
    scan: list[Path] = field(default_factory=list)
    sentinels: dict[Path, str] = field(default_factory=dict)

    def replant(self) -> None:
        """Put the sentinels back (an escaped write may have replaced or removed one)."""
        for path, text in self.sentinels.items():
            _write(path, text)


_PLANTED: dict[str, _Planted] = {}


def _record(server: WorkerServer, args: dict[str, Any]) -> Any:
    from dufflebag_harness.inside.worker._server import OpError

    host_id, name = str(args.get("host_id", "")), str(args["extension"])
    running = server.hosts.get(host_id)
    if running is None:
        raise OpError("UnknownHost", f"no running host {host_id!r}")
    record = running.host._state.records.get(name)
    if record is None or record.services is None:
        raise OpError("NotLoaded", f"extension {name!r} has no services in host {host_id!r}")
    return running.host._state, record


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def probe_storage_plant(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Plant sentinels outside the extension's storage root; return paths aimed at them."""
    state, record = _record(server, args)
    storage = record.services.storage
    root = Path(getattr(storage, "root", state.storage_root / record.name)).resolve()
    root.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    markers = {"neighbour": f"dbh-neighbour-secret-{token}", "outside": f"dbh-outside-{token}"}
    neighbour = _write(root.parent / NEIGHBOUR / "secret.txt", markers["neighbour"])
    outside_dir = Path(tempfile.mkdtemp(prefix="dbh-sentinel-")).resolve()
    outside = _write(outside_dir / "secret.txt", markers["outside"])
    link, link_dir = root / "dbh-link.txt", root / "dbh-linkdir"
    for item in (link, link_dir):
        if item.is_symlink() or item.exists():
            item.unlink()
    link.symlink_to(neighbour)
    link_dir.symlink_to(outside_dir, target_is_directory=True)
    up = os.path.relpath(outside_dir, root)
    payloads = [
        f"../{NEIGHBOUR}/secret.txt", f"{up}/secret.txt", str(outside),
        "dbh-link.txt", "dbh-linkdir/secret.txt",
        f"..%2f{NEIGHBOUR}%2fsecret.txt", f"%2e%2e/{NEIGHBOUR}/secret.txt",
        f"%2e%2e%2f{NEIGHBOUR}%2fsecret.txt", f"%252e%252e%252f{NEIGHBOUR}%252fsecret.txt",
        f"....//{NEIGHBOUR}/secret.txt", f"..\\{NEIGHBOUR}\\secret.txt",
        f"./../{NEIGHBOUR}/secret.txt", f"../{NEIGHBOUR}/secret.txt\x00.txt",
        f"dbh-x\x00/../../{NEIGHBOUR}/secret.txt",
    ]
    _PLANTED[token] = _Planted(
        root=root, markers=markers, payloads=payloads,
        cleanup=[link, link_dir, neighbour.parent, outside_dir],
        scan=[root.parent, outside_dir, Path(tempfile.gettempdir()).resolve()],
        sentinels={neighbour: markers["neighbour"], outside: markers["outside"]},
    )
    return {"token": token, "markers": list(markers.values()), "payloads": payloads,
            "root": str(root)}


def _storages(record: Any) -> list[tuple[str, Any]]:
    """The host's storage service plus storage-like helpers on the extension instance."""
    found = [("services.storage", record.services.storage)]
    seen = {id(record.services.storage)}
    for attr, value in sorted(vars(record.extension).items()):
        if id(value) in seen or isinstance(value, io.IOBase | type):
            continue
        if callable(getattr(value, "read", None)) and callable(getattr(value, "write", None)):
            found.append((f"extension.{attr}", value))
            seen.add(id(value))
    return found


def _call(server: WorkerServer, fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    if inspect.isawaitable(result):
        async def wait() -> Any:
            return await result

        result = server.loop.run(wait(), timeout=_CALL_TIMEOUT_S)
    return result


def _try(server: WorkerServer, fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "allowed", _call(server, fn, *args)
    except BaseException as exc:  # any refusal is fine; what matters is what got through
        return "refused", f"{type(exc).__name__}: {str(exc)[:200]}"


def _written_outside(planted: _Planted, marker: str) -> list[str]:
    """Files outside the extension's root holding ``marker`` (removed once found)."""
    hits: list[str] = []
    for base in planted.scan:
        deep = base != Path(tempfile.gettempdir()).resolve()
        candidates = base.rglob("*") if deep else base.iterdir()
        for path in candidates:
            try:
                if path.is_symlink() or not path.is_file() or path.is_relative_to(planted.root):
                    continue
                if path.stat().st_size > 4096 or marker not in path.read_text("utf-8", "replace"):
                    continue
                hits.append(str(path))
                path.unlink()
            except OSError:
                continue
    return hits


def probe_storage_attack(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Feed the planted paths to each storage the extension holds; report what got through."""
    _state, record = _record(server, args)
    planted = _PLANTED.pop(str(args["token"]), None)
    if planted is None:
        raise ValueError(f"storage.attack: no planted sentinels for token {args['token']!r}")
    results: list[dict[str, Any]] = []
    try:
        for label, storage in _storages(record):
            for i, payload in enumerate(planted.payloads):
                outcome, value = _try(server, storage.read, payload)
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                leaked = [m for m in planted.markers.values() if m in text]
                results.append({"object": label, "op": "read", "payload": payload,
                                "outcome": "escaped" if leaked and outcome == "allowed"
                                else outcome, "detail": text[:120] if outcome == "refused" else ""})
                marker = f"dbh-write-{i}-{secrets.token_hex(6)}"
                outcome, value = _try(server, storage.write, payload, marker.encode())
                outside = _written_outside(planted, marker)
                planted.replant()
                results.append({"object": label, "op": "write", "payload": payload,
                                "outcome": "escaped" if outside else outcome,
                                "detail": ", ".join(outside) if outside else str(value)[:120]})
    finally:
        for path in planted.cleanup:
            if path.is_symlink() or path.is_file():
                path.unlink(missing_ok=True)
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
    return {"objects": sorted({r["object"] for r in results}), "results": results}


def probe_config_view(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """The configuration section the extension's config service shows it."""
    _state, record = _record(server, args)
    from dufflebag_harness.inside.worker._server import _jsonable

    return {"section": _jsonable(dict(record.services.config.all())),
            "applied": _jsonable(dict(record.config))}


Probe = Callable[["WorkerServer", dict[str, Any]], dict[str, Any]]

PROBES: dict[str, Probe] = {
    "storage.plant": probe_storage_plant,
    "storage.attack": probe_storage_attack,
    "config.view": probe_config_view,
}
