"""``hdc-collector device``: what only an operator may do to a device, such as moving it to another unit."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from collector.cli.options import clean_errors, db_option
from inventory.registry import load_registry


@click.group()
def device() -> None:
    """Devices: a report may only update devices of its token's unit; moves are an operator's decision."""


@device.command("move")
@click.argument("device_id")
@click.option("--to", "unit_code", required=True, help="The unit the device now belongs to (5-digit code).")
@db_option()
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Units CSV; default: Hanoi's 126 units.")
@clean_errors
def device_move(device_id: str, unit_code: str, db_url: Optional[str], registry_path: Optional[Path]) -> None:
    """Move DEVICE_ID to another unit (its last report stored again under that unit), written to the audit log.

    A report sent with another unit's token is refused for a device the
    store already holds (409): a machine that really moved is moved here,
    after which its agent, configured with the new unit's token, reports
    as usual.
    """
    # Imported by the command that moves a device, not by every CLI process (its start-up time).
    from collector.ingest.ingestor import Ingestor
    from collector.store import audit
    from collector.store.engine import open_store
    from inventory.baseline import load_baseline
    from inventory.catalog import load_catalog
    from inventory.lifecycle import load_lifecycle

    registry = load_registry(registry_path)
    if unit_code not in registry:
        raise click.BadParameter(f"{unit_code!r} is not a unit code of {registry.source}", param_hint="--to")
    ingestor = Ingestor(open_store(db_url, registry), load_baseline(), load_catalog(), load_lifecycle())
    try:
        result = ingestor.move(device_id, unit_code, audit.cli_actor())
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"moved device {device_id} to unit {unit_code} (report {result.report_id}, verdict {result.verdict})")
