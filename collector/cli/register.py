"""``hdc-collector register``: import each unit's equipment register (what it owns and needs) from a spreadsheet."""
from __future__ import annotations

import getpass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import click

from collector.cli.options import clean_errors, db_option
from inventory.registry import load_registry


@click.group()
def register() -> None:
    """The equipment register: how many devices of each class every unit owns and needs, and which ones."""


@register.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the sheet and show what would change; store nothing.")
@click.option("--by", "actor", default=None, help="Who imports (default: the login name); kept in the change log.")
@click.option("--reason", default=None, help="Why the register changes (default: 'import <file name>').")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Units CSV; default: Hanoi's 126 units.")
@db_option()
@clean_errors
def register_import(sheet: Path, dry_run: bool, actor: Optional[str], reason: Optional[str],
                    registry_path: Optional[Path], db_url: Optional[str]) -> None:
    """Import a register sheet (CSV or XLSX); each unit it lists gets exactly the register the sheet gives.

    Columns: unit_code, device_class, expected[, needed] for counts; unit_code, device_class, asset_tag, serial,
    hostname, location, responsible for named machines (Vietnamese headers too). The whole sheet is checked
    first: one bad row refuses it all, with a message per bad row, and nothing is stored.
    """
    # Imported by the command that imports a sheet, not by every CLI process (its start-up time).
    from collector.cloud.sheet import SheetError
    from collector.register.importer import import_sheet
    from collector.store.engine import open_store

    registry = load_registry(registry_path)
    engine = open_store(db_url, registry)
    try:
        done = import_sheet(engine, registry, sheet, actor or getpass.getuser(), reason or f"import {sheet.name}",
                            datetime.now(timezone.utc), dry_run)
    except SheetError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    if done.errors:
        raise click.ClickException(f"{len(done.errors)} bad row(s); nothing was changed:\n" + "\n".join(done.errors))
    for change in done.changes:
        click.echo(change.describe())
    if dry_run:
        click.echo(f"dry run: {done.units} unit(s) valid, {len(done.changes)} change(s) would be made; nothing stored")
    else:
        click.echo(f"imported the register of {done.units} unit(s): {len(done.changes)} change(s)")
