"""``hdc-collector prune`` and ``backup``: keeping a year of reports on one machine (docs/retention.md)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import click

from collector.cli.options import clean_errors, db_option, migrated_engine
from collector.store import retention as kept
from collector.store.retention import Retention, RetentionError

_DEFAULT = Retention()
_RETENTION_OPTIONS = [
    click.option("--keep-all-days", default=_DEFAULT.keep_all_days, show_default=True, type=click.IntRange(1, 36500),
                 help="Days every raw report is kept."),
    click.option("--keep-daily-days", default=_DEFAULT.keep_daily_days, show_default=True,
                 type=click.IntRange(1, 36500),
                 help="Days the newest report of each device and day is kept; older, the newest of each week. "
                      "A device's latest report and the reports that changed a verdict are always kept."),
]


def with_retention_options(fn: Callable) -> Callable:
    """The retention options ``prune`` and ``serve`` share."""
    for option in reversed(_RETENTION_OPTIONS):
        fn = option(fn)
    return fn


def retention_of(keep_all_days: int, keep_daily_days: int) -> Retention:
    try:
        return Retention(keep_all_days, keep_daily_days)
    except RetentionError as exc:
        raise click.UsageError(str(exc)) from None


@click.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be removed; change nothing.")
@with_retention_options
@db_option()
@clean_errors
def prune(dry_run: bool, keep_all_days: int, keep_daily_days: int, db_url: Optional[str]) -> None:
    """Remove the raw reports the retention no longer keeps, and give the space back (SQLite).

    Safe while 'serve' runs: small batches, each a short write transaction.
    No figure of the page, the API or /metrics changes. 'serve' does the same
    every hour by itself (--prune-every-minutes).
    """
    retention = retention_of(keep_all_days, keep_daily_days)
    engine = migrated_engine(db_url)
    before = kept.file_bytes(engine)
    done = kept.prune(engine, retention, datetime.now(timezone.utc), dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {done.reports:,} report(s) and {done.software_lists:,} software list(s) no longer "
               f"referred to, of {done.devices:,} device(s); kept {retention.describe()}.")
    if dry_run or before is None:
        return
    if kept.use_incremental_vacuum(engine):
        click.echo("Switched the store to incremental vacuum (one full VACUUM): space freed from now on goes back "
                   "to the file system.")
    kept.reclaim_space(engine)
    after = kept.file_bytes(engine) or 0
    click.echo(f"Store file: {before:,} bytes before, {after:,} bytes now.")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option()
@clean_errors
def backup(file: Path, db_url: Optional[str]) -> None:
    """Copy the SQLite store to FILE while 'serve' keeps running (SQLite's online backup).

    Restore by serving the copy: hdc-collector serve --db sqlite:///FILE.
    For PostgreSQL use pg_dump or pg_basebackup (docs/retention.md).
    """
    from collector.store.backup import BackupError, copy_store  # imported by this command alone (CLI start-up time)
    from collector.store.engine import make_engine

    engine = make_engine(db_url)
    try:
        size = copy_store(engine, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"Copied {size / 1e6:,.1f} MB to {file}.")
