"""``hdc-collector units``: import each unit's person responsible and contact from a units sheet."""
from __future__ import annotations

import getpass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import click

from collector.cli.options import clean_errors, db_option
from inventory.registry import load_registry


@click.group()
def units() -> None:
    """The units themselves: who answers for each one."""


@units.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the sheet and show what would change; store nothing.")
@click.option("--by", "actor", default=None, help="Who imports (default: the login name); kept in the audit log.")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Units CSV; default: Hanoi's 126 units.")
@db_option()
@clean_errors
def units_import(sheet: Path, dry_run: bool, actor: Optional[str], registry_path: Optional[Path],
                 db_url: Optional[str]) -> None:
    """Import a units sheet (CSV or XLSX): unit_code, responsible, contact (Vietnamese headers too).

    Each unit listed gets the person and contact the sheet gives; units not listed are untouched. The whole
    sheet is checked first: one bad row refuses it all, with a message per bad row, and nothing is stored.
    """
    # Imported by the command that imports a sheet, not by every CLI process (its start-up time).
    from collector.cloud.sheet import SheetError
    from collector.register.contacts import read_contacts
    from collector.store import contacts
    from collector.store.engine import open_store, write_transaction

    registry = load_registry(registry_path)
    try:
        wanted, errors = read_contacts(sheet, [u.code for u in registry])
    except SheetError as exc:
        raise click.ClickException(str(exc)) from exc
    if errors:
        raise click.ClickException(f"{len(errors)} bad row(s); nothing was changed:\n" + "\n".join(errors))
    engine = open_store(db_url, registry)
    try:
        with write_transaction(engine) as conn:
            done = contacts.changes(conn, wanted) if dry_run else \
                contacts.store(conn, wanted, actor or getpass.getuser(), datetime.now(timezone.utc))
    finally:
        engine.dispose()
    for before, after in done:
        was = f"{before.responsible} ({before.contact or '-'})" if before else "none"
        click.echo(f"{after.ward_code}: {was} -> {after.responsible} ({after.contact or '-'})")
    verb = "would change" if dry_run else "changed"
    click.echo(f"{len(wanted)} unit(s) valid, {len(done)} {verb}" + ("; nothing stored" if dry_run else ""))
