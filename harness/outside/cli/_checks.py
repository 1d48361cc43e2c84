"""``dufflebag-cert checks``: the catalog, as a table or JSON."""

from __future__ import annotations

import json

import click


@click.command("checks")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def checks_cmd(as_json: bool) -> None:
    """List every check of the catalog."""
    from rich.console import Console
    from rich.table import Table

    from dufflebag_harness.conformance import load_catalog, load_checks

    registry = load_checks()
    catalog = load_catalog()
    rows = []
    for spec in sorted(registry, key=lambda s: s.id):
        rows.append({
            "id": spec.id, "area": spec.area, "title": spec.title,
            "severity": spec.severity.value, "backends": list(spec.backends),
            "requires": list(spec.requires), "profiles": list(spec.profiles), "fix": spec.fix,
        })
    if as_json:
        click.echo(json.dumps({"catalog_version": catalog.version, "checks": rows}, indent=2))
        return
    table = Table(title=f"Conformance catalog {catalog.version[:19]}…")
    for col in ("ID", "Severity", "Backends", "Requires", "Title"):
        table.add_column(col)
    for spec in sorted(registry, key=lambda s: s.id):
        table.add_row(spec.id, spec.severity.value, ",".join(spec.backends),
                      ",".join(spec.requires), spec.title)
    Console().print(table)
