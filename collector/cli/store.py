"""``hdc-collector audit`` and ``recount``: looking after the store."""
from __future__ import annotations

import json
import sys
from typing import Optional

import click

from collector.cli.options import clean_errors, db_option, migrated_engine
from collector.store import counts, device_work, reach_days, unit_days
from collector.store.audit import entries
from collector.store.engine import write_transaction


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="JSON instead of lines.")
@db_option()
@clean_errors
def audit(limit: int, as_json: bool, db_url: Optional[str]) -> None:
    """The audit log, newest first: who changed which token, when."""


    with migrated_engine(db_url).connect() as conn:
        found = entries(conn, limit)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in found], ensure_ascii=False, indent=1))
        return
    for e in found:
        detail = " ".join(f"{k}={v}" for k, v in sorted(e.detail.items()) if v is not None)
        click.echo(f"{e.at.strftime('%Y-%m-%d %H:%M:%SZ')}  {e.actor:<24}  {e.action:<14}  "
                   f"{e.token_id or '-':<16}  {e.ward_code or '-':<5}  {detail}")


@click.command()
@click.option("--check", is_flag=True, help="Only compare; exit with status 1 if anything differs.")
@db_option()
@clean_errors
def recount(check: bool, db_url: Optional[str]) -> None:
    """Count every unit's devices again from the device rows, and put right the counts /metrics and the page read
    and the units' history (verdicts, work items, reach of the HDC) by day, and each device's work item.

    Ingest keeps those itself; run this after restoring a backup or editing the store by hand.
    """

    with write_transaction(migrated_engine(db_url)) as conn:
        found = counts.recount(conn, apply=not check)
        history = unit_days.recount(conn, apply=not check)
        reach = reach_days.recount(conn, apply=not check)
        work = device_work.recount(conn, apply=not check)
    if not (found.devices or found.rows or history or reach or work):
        click.echo("The counts match the device rows.")
        return
    what = f"{found.devices} device(s) counted wrongly, {found.rows} count row(s) wrong"
    if history:
        what += f", {history} history row(s) wrong (the units' verdicts and work items by day)"
    if reach:
        what += f", {reach} reach row(s) wrong (the units' reach of the HDC by day)"
    if work:
        what += f", {work} work-item row(s) wrong (each device's work item)"
    if check:
        click.echo(f"{what}: run 'hdc-collector recount' to put them right.", err=True)
        sys.exit(1)
    click.echo(f"{what}: put right.")
