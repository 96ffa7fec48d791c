"""``hdc-collector migration`` (the cloud move): declare where a unit's application stands, one at a time or
from a sheet."""
from __future__ import annotations

import getpass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

from collector.cli.options import domain_errors
from collector.i18n import HANOI
from collector.settings import Settings
from inventory.migration import STATES

if TYPE_CHECKING:
    from collector.cloud.queries import Checked, Proposed


def _common(fn):
    options = [
        click.option("--db", "db_url", default=None, metavar="URL",
                     help="Store URL (default: $HDC_DB_URL or sqlite:///var/hdc-readiness.sqlite3)."),
        click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Units CSV; default: Hanoi's 126 units."),
        click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Software catalog YAML; default: the shipped catalog."),
        click.option("--by", "declared_by", default=None, help="Who declares (default: the login name)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run(db_url, registry_path, catalog_path, proposals: list[Proposed], source: str,
         dry_run: bool) -> list[Checked]:
    # Imported when a declaration is stored, not by every CLI process (its start-up time).
    from collector.cloud.queries import apply
    from collector.store.engine import open_store
    from inventory.catalog import load_catalog
    from inventory.registry import load_registry

    try:
        registry, catalog = load_registry(registry_path), load_catalog(catalog_path)
        engine = open_store(db_url, registry)
    except domain_errors() as exc:
        raise click.ClickException(str(exc)) from exc
    now = datetime.now(timezone.utc)
    return apply(engine, catalog, registry, proposals, source, now, Settings().active_since(now),
                 now.astimezone(HANOI).date(), dry_run=dry_run)


def _describe(c: Checked) -> str:
    p = c.proposed
    change = f"{c.current} -> {p.state}" if c.changes else f"stays {p.state} (declared again)"
    return f"{p.ward_code} {p.app_id}: {change} from {p.effective_on.strftime('%d/%m/%Y')}"


@click.group()
def migration() -> None:
    """Cloud migration: declare the state of a unit's applications (local, migrating, on_hdc, ...)."""


@migration.command("set")
@click.option("--ward", "ward_code", required=True, help="Unit code, 5 digits.")
@click.option("--app", "app_id", required=True, help="Catalog application id, e.g. one_stop_shop.")
@click.option("--state", required=True, type=click.Choice(STATES))
@click.option("--date", "effective_on", type=click.DateTime(["%Y-%m-%d", "%d/%m/%Y"]), default=None,
              help="When the state took effect (default: today, Hanoi time).")
@click.option("--note", default=None, help="Why: what was done or decided.")
@click.option("--reference", default=None, help="Decision document, e.g. 'QĐ 123/QĐ-UBND 15/12/2025'.")
@_common
def migration_set(ward_code, app_id, state, effective_on, note, reference, db_url, registry_path, catalog_path,
                  declared_by) -> None:
    """Declare one application's state at one unit (kept in the history; nothing is overwritten)."""
    from collector.cloud.queries import Proposed  # imported by the command that uses it (CLI start-up time)

    today = datetime.now(HANOI).date()
    p = Proposed(ward_code, app_id, state, effective_on.date() if effective_on else today,
                 declared_by or getpass.getuser(), note, reference)
    (c,) = _run(db_url, registry_path, catalog_path, [p], "cli", dry_run=False)
    if c.error:
        raise click.ClickException(f"{ward_code} {app_id}: {c.error}; nothing was stored")
    click.echo(f"declared: {_describe(c)}")


@migration.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the sheet and show what would change; store nothing.")
@_common
def migration_import(sheet: Path, dry_run: bool, db_url, registry_path, catalog_path,
                     declared_by: Optional[str]) -> None:
    """Import a register sheet (CSV or XLSX: unit code, application, state, date, note[, reference]).

    The whole sheet is checked first; one bad row refuses it all, with a
    message per bad row, and nothing is stored.
    """
    # Imported by the command that reads a sheet, not by every CLI process (its start-up time).
    from collector.cloud.sheet import SheetError, read_sheet
    from inventory.catalog import load_catalog

    who = declared_by or getpass.getuser()
    try:
        rows = read_sheet(sheet, load_catalog(catalog_path), f"{who} (import {sheet.name})")
    except SheetError as exc:
        raise click.ClickException(str(exc)) from exc
    readable = [(r, r.proposed) for r in rows if r.proposed is not None]
    # Rows that could not be read make the sheet bad: check the rest only to report them all at once.
    done = _run(db_url, registry_path, catalog_path, [proposed for _, proposed in readable], "import",
                dry_run=dry_run or len(readable) < len(rows))
    checked = dict(zip((r.row for r, _ in readable), done))
    errors = [f"{sheet.name}: row {r.row}: {r.error or checked[r.row].error}" for r in rows
              if r.error or checked[r.row].error]
    if errors:
        raise click.ClickException(f"{len(errors)} bad row(s); nothing was changed:\n" + "\n".join(errors))
    for r in rows:
        click.echo(f"row {r.row}: {_describe(checked[r.row])}")
    changing = sum(c.changes for c in done)
    if dry_run:
        click.echo(f"dry run: {len(rows)} row(s) valid, {changing} would change a state; nothing stored")
    else:
        click.echo(f"imported {len(done)} declaration(s), {changing} changing a state")
