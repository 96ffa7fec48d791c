"""``hdc-collector``: serve, manage tokens, run the demo, simulate a fleet."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Callable, Optional

import click

from inventory.baseline import BaselineError
from inventory.catalog import CatalogError
from inventory.milestones import MilestoneError
from inventory.registry import RegistryError, load_registry

from . import __version__
from .settings import Settings
from .store.engine import StoreError

DEMO_DB = "sqlite:///var/demo.sqlite3"
_DOMAIN_ERRORS = (BaselineError, CatalogError, MilestoneError, RegistryError, StoreError)


def _clean_errors(fn: Callable) -> Callable:
    """Bad files and URLs end in one line naming the problem, never a traceback."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _DOMAIN_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc
    return wrapper


def _db_option(default: Optional[str] = None):
    return click.option("--db", "db_url", default=default, metavar="URL",
                        help="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://... "
                             "(default: $HDC_DB_URL or sqlite:///var/hdc-readiness.sqlite3)")


_data_options = [
    click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Units CSV (code,name,kind); default: Hanoi's 126 units."),
    click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Baseline rules YAML; default: the shipped Hanoi baseline."),
    click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Software catalog YAML; default: the shipped catalog."),
]


def _with_data_options(fn: Callable) -> Callable:
    for option in reversed(_data_options):
        fn = option(fn)
    return fn


@click.group()
@click.version_option(__version__, prog_name="hdc-collector")
@click.option("-v", "--verbose", is_flag=True, help="Log each request and store operation.")
def main(verbose: bool) -> None:
    """The hdc-readiness collector."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command()
@_db_option()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--stale-after-days", default=30, show_default=True, type=click.IntRange(1, 3650),
              help="A device with no report for this long is counted as silent.")
@click.option("--per-device-metrics", is_flag=True,
              help="Also expose hdc_device_info, one series per active device (Prometheus's series count then "
                   "grows with the fleet).")
@_with_data_options
@_clean_errors
def serve(db_url, host, port, threads, stale_after_days, per_device_metrics, registry_path, baseline_path,
          catalog_path) -> None:
    """Run the collector with a production WSGI server (waitress)."""
    from .app import create_app
    from .server import Server

    app = create_app(Settings(db_url=db_url or "", registry_path=registry_path, baseline_path=baseline_path,
                              catalog_path=catalog_path, stale_after_days=stale_after_days,
                              per_device_metrics=per_device_metrics))
    server = Server(app, host, port, threads=threads)
    click.echo(f"hdc-collector {__version__} listening on {server.url}", err=True)
    server.serve_forever()


@main.group()
def token() -> None:
    """Ward tokens."""


@token.command("create")
@click.option("--ward", "ward_code", required=True, help="Unit code, 5 digits with leading zeros.")
@click.option("--label", default=None, help="Free text to recognise the token later (e.g. the machine group).")
@_db_option()
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path))
@_clean_errors
def token_create(ward_code: str, label: Optional[str], db_url: Optional[str], registry_path) -> None:
    """Create a token for one unit and print it once; only its hash is stored."""
    from .store.engine import make_engine, migrate
    from .store.tokens import create_token
    from .store.wards import sync_wards

    registry = load_registry(registry_path)
    if ward_code not in registry:
        raise click.BadParameter(f"{ward_code!r} is not a unit code of {registry.source}", param_hint="--ward")
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_wards(conn, registry)
        click.echo(create_token(conn, ward_code, label))


@main.command()
@click.option("--url", required=True, help="Collector base URL, e.g. http://127.0.0.1:8080")
@_db_option()
@click.option("--seed", default=2025, show_default=True, type=int)
@click.option("--mode", type=click.Choice(["changes", "history", "snapshot"]), default="changes", show_default=True,
              help="changes: first report, one per upgrade, a current one; history: every device every "
                   "--interval-days; snapshot: one current report per device.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2025-09-01", show_default=True,
              help="First day of simulated history.")
@click.option("--interval-days", default=28, show_default=True, type=click.IntRange(1, 3650))
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path))
@_clean_errors
def simulate(url, db_url, seed, mode, start, interval_days, concurrency, registry_path) -> None:
    """Post a realistic simulated fleet for every unit to a collector over HTTP.

    Tokens for the simulated units are created in the collector's store
    (--db), so run it beside the collector you are loading.
    """
    from .loadgen import post_reports
    from .simulate import generate_changes, generate_fleet, generate_history
    from .store.engine import make_engine, migrate
    from .store.tokens import create_token
    from .store.wards import sync_wards

    registry = load_registry(registry_path)
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_wards(conn, registry)
        tokens = {w.code: create_token(conn, w.code, "simulator") for w in registry}
    today = datetime.now(timezone.utc).date()
    reports = {
        "changes": lambda: generate_changes(registry, seed=seed, start=start.date()),
        "history": lambda: generate_history(registry, seed=seed, start=start.date(), end=today,
                                            interval_days=interval_days),
        "snapshot": lambda: generate_fleet(registry, seed=seed),
    }[mode]()
    stats = post_reports(url, reports, tokens.__getitem__, concurrency=concurrency,
                         progress=_progress)
    click.echo(f"\rposted {stats.sent} reports: "
               + ", ".join(f"HTTP {k}: {v}" for k, v in sorted(stats.by_status.items())))
    if stats.errors:
        raise click.ClickException("some reports were refused:\n" + "\n".join(stats.errors[:5]))


def _progress(sent: int) -> None:
    if sent % 500 == 0:
        click.echo(f"\r  {sent} reports posted…", nl=False, err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@_db_option(DEMO_DB)
@click.option("--seed", default=2025, show_default=True, type=int)
@click.option("--ward", "own_ward", default=None, help="Unit this machine reports for (default: the first unit).")
@click.option("--keep", is_flag=True, help="Keep the demo store from an earlier run instead of starting afresh.")
@_clean_errors
def demo(host, port, db_url, seed, own_ward, keep) -> None:
    """Start the collector on SQLite, send this machine's report and a simulated fleet, and keep serving."""
    from .app import create_app
    from .server import Server

    if not keep:
        _remove_sqlite(db_url)
    registry = load_registry()
    own_ward = own_ward or next(iter(registry)).code
    app = create_app(Settings(db_url=db_url))
    server = Server(app, host, port)
    server.start_in_background()
    click.echo(f"Collector started on {server.url} (store: {db_url})")

    _send_own_report(server.url, db_url, own_ward)
    click.echo(f"Loading a simulated fleet for all {len(registry)} units over HTTP "
               "(first reports since 09/2025, upgrades, current reports)…")
    sys.stdout.flush()
    # A separate process, as a fleet of agents would be: the load uses the second core.
    done = subprocess.run([sys.executable, "-m", "collector.cli", "simulate", "--url", server.url,
                           "--db", db_url, "--seed", str(seed), "--mode", "changes"])
    if done.returncode != 0:
        raise click.ClickException("loading the simulated fleet failed (see above)")
    click.echo("")
    click.echo(f"Readiness page (trang tổng quan): {server.url}/")
    click.echo(f"Prometheus metrics:               {server.url}/metrics")
    click.echo(f"JSON API:                         {server.url}/api/v1/wards")
    click.echo("Press Ctrl-C to stop.", err=True)
    sys.stdout.flush()
    try:
        server.wait()
    except KeyboardInterrupt:
        server.close()


def _remove_sqlite(db_url: str) -> None:
    if db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _send_own_report(url: str, db_url: str, ward_code: str) -> None:
    """Run the real agent against the demo collector, the way a ward PC would."""
    from .store.engine import make_engine
    from .store.tokens import create_token

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


def _dashboards_module(name: str):
    """The dashboards tooling is an extra: say how to install it instead of failing on an import."""
    import importlib

    try:
        return importlib.import_module(f"dashboards.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("grafana_foundation_sdk", "grafana_client"):
            raise click.ClickException(f"{exc.name} is not installed: pip install 'hdc-readiness[dashboards]'")
        raise


@main.group()
def dashboards() -> None:
    """Grafana dashboards: generate their JSON, push them to a Grafana."""


@dashboards.command("generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the JSON files (default: dashboards/generated in the package).")
@click.option("--check", is_flag=True, help="Write nothing; fail when the files differ from the code.")
def dashboards_generate(out: Optional[Path], check: bool) -> None:
    """Render every dashboard to <uid>.json."""
    build = _dashboards_module("build")
    directory = out or build.GENERATED
    if check:
        stale = build.stale(directory)
        if stale:
            raise click.ClickException(f"out of date in {directory}: {', '.join(stale)} "
                                       "(run 'hdc-collector dashboards generate')")
        click.echo(f"{directory}: up to date")
        return
    for path in build.write(directory):
        click.echo(str(path))


@dashboards.command("push")
@click.option("--url", required=True, envvar="GRAFANA_URL", metavar="URL",
              help="Grafana base URL, e.g. https://grafana.example:3000 ($GRAFANA_URL).")
@click.option("--token", required=True, envvar="GRAFANA_TOKEN", metavar="TOKEN",
              help="A service-account token with the Editor role ($GRAFANA_TOKEN keeps it out of ps).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Directory of dashboard JSON (default: the generated dashboards shipped with the package).")
@click.option("--folder-uid", default="hdc-readiness", show_default=True)
@click.option("--folder-title", default="HDC readiness", show_default=True)
def dashboards_push(url: str, token: str, directory: Optional[Path], folder_uid: str, folder_title: str) -> None:
    """Create or update the dashboards in Grafana by uid; unchanged ones are left as they are."""
    push = _dashboards_module("push")
    from grafana_client.client import GrafanaException
    from niquests.exceptions import RequestException

    from dashboards import GENERATED

    try:
        results = push.push(url, token, directory or GENERATED, folder_uid=folder_uid, folder_title=folder_title,
                            message=f"hdc-collector {__version__} dashboards push")
    except GrafanaException as exc:
        raise click.ClickException(f"Grafana at {url} refused: {exc.message}") from exc
    except RequestException as exc:
        raise click.ClickException(f"cannot reach Grafana at {url}: {exc}") from exc
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    for r in results:
        click.echo(f"{r.action:<9} {r.uid:<14} {r.title}  {r.url or ''}")


if __name__ == "__main__":
    main()
