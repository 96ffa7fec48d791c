"""One import of a register sheet, for the command line and the admin API alike: check it whole, then store it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from collector.register.sheet import read_register
from collector.store import register as register_store
from collector.store.engine import write_transaction
from inventory.registry import Registry


@dataclass(frozen=True)
class Imported:
    """What an import did (or, for a dry run or a refused sheet, would not do)."""

    errors: list[str]
    changes: list[register_store.Change]
    units: int
    stored: bool


def import_sheet(engine: Engine, registry: Registry, path: Path, actor: str, reason: str, now: datetime,
                 dry_run: bool) -> Imported:
    """Read ``path``; with no bad row and not ``dry_run``, store it and log each change. Raises SheetError for a
    file that cannot be read at all."""
    found, errors = read_register(path, [u.code for u in registry])
    if errors:
        return Imported(errors, [], 0, False)
    with write_transaction(engine) as conn:
        if dry_run:
            return Imported([], register_store.changes(conn, found), len(found.units), False)
        return Imported([], register_store.store(conn, found, actor, reason, now), len(found.units), True)
