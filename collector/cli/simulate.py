"""``hdc-collector simulate``: a realistic simulated fleet posted to a collector over HTTP."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import click

from collector.cli.options import clean_errors, db_option
from collector.store.engine import open_store
from collector.store.tokens import create_token
from inventory.registry import load_registry


@click.command()
@click.option("--url", required=True, help="Collector base URL, e.g. http://127.0.0.1:8080")
@db_option()
@click.option("--seed", default=2025, show_default=True, type=int)
@click.option("--mode", type=click.Choice(["changes", "history", "snapshot"]), default="changes", show_default=True,
              help="changes: first report, one per upgrade, a current one; history: every device every "
                   "--interval-days; snapshot: one current report per device.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2025-09-01", show_default=True,
              help="First day of simulated history.")
@click.option("--interval-days", default=28, show_default=True, type=click.IntRange(1, 3650),
              help="With --mode history: days between two routine reports of a device.")
@click.option("--units", "unit_codes", metavar="CODE[,CODE...]",
              help="Simulate only these units (codes of the registry); default: every unit. A unit's devices "
                   "are the same either way.")
@click.option("--devices-per-unit", default="15-40", show_default=True, metavar="N|MIN-MAX",
              help="Devices of each unit, drawn per unit between MIN and MAX (servers included).")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--register/--no-register", "with_register", default=True, show_default=True,
              help="Also import the simulated units' equipment registers (a few units get none, some own "
                   "machines that never report, some run machines their register forgot).")
@clean_errors
def simulate(url, db_url, seed, mode, start, interval_days, unit_codes, devices_per_unit, concurrency,
             registry_path, with_register) -> None:
    """Post a realistic simulated fleet for every unit to a collector over HTTP, then import their registers.

    Tokens for the simulated units are created in the collector's store
    (--db), so run it beside the collector you are loading.
    """
    # Imported by the command that simulates: the simulator's model (the catalog read at import, its tables)
    # would otherwise cost every other hdc-collector command a tenth of a second at start.
    from collector.simulate import Planned, fleet_slots, generate_changes, generate_fleet, generate_history
    from collector.simulate.load import post_fleet
    from collector.simulate.register import generate_register

    registry = load_registry(registry_path)
    only = parse_unit_codes(unit_codes, registry)
    sizes = _devices_per_unit(devices_per_unit)
    engine = open_store(db_url, registry)
    with engine.begin() as conn:
        tokens = {w.code: create_token(conn, w.code, "simulator") for w in registry if only is None or w.code in only}
    today = datetime.now(timezone.utc).date()
    reports = {
        "changes": lambda: generate_changes(registry, seed=seed, start=start.date(), devices_per_unit=sizes,
                                            only=only),
        "history": lambda: generate_history(registry, seed=seed, start=start.date(), end=today,
                                            interval_days=interval_days, devices_per_unit=sizes, only=only),
        "snapshot": lambda: generate_fleet(registry, seed=seed, devices_per_unit=sizes, only=only),
    }[mode]()
    register = None
    if with_register:
        slots = reports.slots if isinstance(reports, Planned) else fleet_slots(registry, seed, sizes, only)
        register = generate_register(slots, seed, today)
    stats = post_fleet(url, engine, registry, reports, tokens.__getitem__, seed, concurrency=concurrency,
                       progress=_progress(getattr(reports, "total", None)), only=only, register=register)
    click.echo(f"\rposted {stats.sent} reports ({stats.by_digest} with their software list named by its digest): "
               + ", ".join(f"HTTP {k}: {v}" for k, v in sorted(stats.by_status.items())))
    if stats.errors:
        raise click.ClickException("some reports were refused:\n" + "\n".join(stats.errors[:5]))


def parse_unit_codes(text: Optional[str], registry) -> Optional[frozenset[str]]:
    """``--units`` (of ``simulate`` and ``demo``) as a set of the registry's codes; None for every unit."""
    if text is None:
        return None
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise click.BadParameter("give at least one unit code", param_hint="--units")
    unknown = [c for c in codes if c not in registry]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r} is not a unit code of the registry ({registry.source})",
                                 param_hint="--units")
    return frozenset(codes)


_MAX_DEVICES_PER_UNIT = 10_000


def _devices_per_unit(text: str) -> tuple[int, int]:
    """``--devices-per-unit`` N or MIN-MAX as (MIN, MAX)."""
    low, _, high = text.strip().partition("-")
    usage = f"{text!r} is not N or MIN-MAX with whole numbers from 1 to {_MAX_DEVICES_PER_UNIT}"
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise click.BadParameter(usage, param_hint="--devices-per-unit") from None
    if not 1 <= bounds[0] <= bounds[1] <= _MAX_DEVICES_PER_UNIT:
        raise click.BadParameter(f"{usage}, MIN <= MAX", param_hint="--devices-per-unit")
    return bounds


def _progress(total: Optional[int]) -> Callable[[int], None]:
    """Every 250 reports, how many were posted (of how many) and about how long the rest will take."""
    started = time.monotonic()

    def show(sent: int) -> None:
        if sent % 250 and sent != total:
            return
        if not total:
            click.echo(f"\r  {sent:,} reports posted…", nl=False, err=True)
            return
        left = (time.monotonic() - started) / sent * (total - sent)
        click.echo(f"\r  {sent:,} of {total:,} reports posted, about {_duration(left)} left   ", nl=False, err=True)
    return show


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
