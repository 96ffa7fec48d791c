"""``hdc-collector demo``: the collector on SQLite with this machine's report and a simulated fleet."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Optional

import click

from collector.cli.options import DEMO_DB, clean_errors, coverage_threshold_option, db_option, price_list_option
from collector.cli.simulate import parse_unit_codes
from collector.i18n import HANOI
from collector.settings import Settings
from inventory.registry import load_registry


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@db_option(DEMO_DB)
@click.option("--seed", default=2025, show_default=True, type=int)
@click.option("--ward", "own_unit", default=None, help="Unit this machine reports for (default: the first unit).")
@click.option("--keep", is_flag=True, help="Keep the demo store from an earlier run instead of starting afresh.")
@click.option("--units", "unit_codes", metavar="CODE[,CODE...]",
              help="Simulate only these units (a quick look, e.g. at a price list); default: all 126.")
@price_list_option()
@coverage_threshold_option
@clean_errors
def demo(host, port, db_url, seed, own_unit, keep, unit_codes, price_list_path, coverage_threshold) -> None:
    """Start the collector on SQLite, send this machine's report and a simulated fleet, and keep serving."""
    try:
        _run_demo(host, port, db_url, seed, own_unit, keep, unit_codes, price_list_path, coverage_threshold)
    except KeyboardInterrupt:
        # Ctrl-C at any moment ends the demo with one line, whatever it was doing.
        click.echo("\nDemo stopped (Ctrl-C).", err=True)


def _run_demo(host: str, port: int, db_url: str, seed: int, own_unit: Optional[str], keep: bool,
              unit_codes: Optional[str], price_list_path: Optional[Path], coverage_threshold: float) -> None:
    # Imported by the command that serves, not by every CLI process (its start-up time), as ``serve`` does.
    from collector.app import create_app
    from collector.http.server import keep_overview_ready, listening, settle_heap
    from collector.readiness.plan import load_plan_book

    # A bad price list or unit code ends the demo in one line before the last demo's store is removed or
    # anything loaded.
    load_plan_book(price_list_path, datetime.now(HANOI).date())
    registry = load_registry()
    parse_unit_codes(unit_codes, registry)
    if not keep:
        _remove_sqlite(db_url)
    own_unit = own_unit or next(iter(registry)).code
    app = create_app(Settings(db_url=db_url, price_list_path=price_list_path, coverage_threshold=coverage_threshold))
    settle_heap()
    server = listening(app, host, port, "make demo PORT=8081, or hdc-collector demo --port 8081")
    server.start_in_background()
    app.extensions["hdc"].start_background()
    try:
        click.echo(f"Collector started on {server.url} (store: {db_url})")
        _send_own_report(server.url, db_url, own_unit)
        which = f"units {unit_codes}" if unit_codes else f"all {len(registry)} units"
        click.echo(f"Loading a simulated fleet for {which} over HTTP "
                   "(first reports since 09/2025, upgrades, current reports)…")
        sys.stdout.flush()
        _load_fleet(server.url, db_url, seed, unit_codes)
        keep_overview_ready(app)  # the page then shows the whole fleet from its first reader on
        click.echo("")
        click.echo(f"Readiness page (trang tổng quan): {server.url}/")
        click.echo(f"Prometheus metrics:               {server.url}/metrics")
        click.echo(f"JSON API:                         {server.url}/api/v1/wards")
        click.echo("Press Ctrl-C to stop.", err=True)
        sys.stdout.flush()
        server.wait()
    finally:
        server.close()


def _load_fleet(url: str, db_url: str, seed: int, unit_codes: Optional[str]) -> None:
    """In a process of its own, as a fleet of agents would be (the load uses the second core), and in a session
    of its own, so a Ctrl-C reaches the demo alone, which ends it here.

    As many reports in flight as the server has threads: with fewer, the server's one core idled between a
    report stored and the next one read (paired runs: 8 at a time posted the fleet in 0.9 of the time 4 took,
    with the same server CPU)."""
    from collector.http.server import WAITRESS_THREADS, quiet  # loaded by the demo's server already

    only = ["--units", unit_codes] if unit_codes else []
    loader = subprocess.Popen([sys.executable, "-m", "collector.cli", "simulate", "--url", url, "--db", db_url,
                               "--seed", str(seed), "--mode", "changes", "--concurrency", str(WAITRESS_THREADS),
                               *only], start_new_session=True)
    try:
        # Every thread busy is the point of the load: waitress's "Task queue depth is 1", each time a report
        # waits a moment for a thread, would bury the progress line under thousands of warnings.
        with quiet("waitress.queue"):
            returncode = loader.wait()
    except BaseException:
        loader.terminate()
        loader.wait()
        raise
    if returncode != 0:
        raise click.ClickException("loading the simulated fleet failed (see above)")


def _remove_sqlite(db_url: str) -> None:
    if db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _send_own_report(url: str, db_url: str, ward_code: str) -> None:
    """Run the real agent against the demo collector, the way a ward PC would."""
    from collector.store.engine import make_engine  # loaded by the demo's server already
    from collector.store.tokens import create_token

    with make_engine(db_url).begin() as conn:
        secret = create_token(conn, ward_code, "demo: this machine")
    workdir = Path(tempfile.mkdtemp(prefix="hdc-demo-agent-"))
    try:
        (workdir / "token").write_text(secret)
        (workdir / "token").chmod(0o600)
        config = workdir / "agent.yaml"
        config.write_text(
            f'collector_url: "{url}"\nallow_insecure_http: true\nward_code: "{ward_code}"\n'
            f'token_file: "{workdir / "token"}"\noutbox_dir: "{workdir / "outbox"}"\n', encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "agents.cli", "run", "--config", str(config)],
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            click.echo(f"This machine's own report was sent by hdc-agent for unit {ward_code}.")
        else:
            click.echo(f"hdc-agent could not send this machine's report: {done.stderr.strip()}", err=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
