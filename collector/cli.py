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
from .login import DEFAULT_HEADER, MODES, LoginConfigError, LoginSettings, parse_header_name, parse_network
from .ratelimit import Rate, RateLimits
from .settings import Settings
from .store.engine import StoreError
from .store.tokens import TokenError
from .viewers import ViewersError

DEMO_DB = "sqlite:///var/demo.sqlite3"
_DOMAIN_ERRORS = (BaselineError, CatalogError, MilestoneError, RegistryError, StoreError, TokenError,
                  LoginConfigError, ViewersError)


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


def _rate_default(which: str) -> str:
    rate = getattr(RateLimits(), which)
    return f"{rate.per_minute:g}/{rate.burst}"


def _parse_rate(_ctx, _param, value: str) -> Rate:
    try:
        return Rate.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _parse_header(_ctx, _param, value: str) -> str:
    try:
        return parse_header_name(value)
    except LoginConfigError as exc:
        raise click.BadParameter(str(exc)) from None


def _parse_networks(_ctx, _param, values: tuple[str, ...]) -> tuple:
    try:
        return tuple(parse_network(v) for v in values)
    except LoginConfigError as exc:
        raise click.BadParameter(str(exc)) from None


_login_options = [
    click.option("--login", "login_mode", type=click.Choice(MODES), default="none", show_default=True,
                 help="Who may read the page, the JSON read API and the exports: everybody (none), viewers of "
                      "--viewers-file over HTTP Basic (basic), or the user a trusted reverse proxy names in "
                      "--login-header (header). Agents' and admins' tokens and /healthz are not affected."),
    click.option("--viewers-file", "viewers_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="With --login basic: the 'name:hash' file written by 'hdc-collector viewer add'; re-read "
                      "when it changes."),
    click.option("--login-header", default=DEFAULT_HEADER, show_default=True, callback=_parse_header,
                 metavar="NAME", help="With --login header: the header in which the proxy names the signed-in user."),
    click.option("--trusted-proxy", "trusted_proxies", multiple=True, callback=_parse_networks,
                 metavar="ADDRESS[/BITS]",
                 help="With --login header: an address or network whose --login-header is believed; repeat for "
                      "more (default: 127.0.0.1 and ::1)."),
    click.option("--protect-metrics", is_flag=True,
                 help="Also require the login for /metrics (Prometheus then needs basic_auth in its scrape "
                      "config); without it /metrics stays open."),
]


def _with_login_options(fn: Callable) -> Callable:
    for option in reversed(_login_options):
        fn = option(fn)
    return fn


def _login_settings(login_mode: str, viewers_path: Optional[Path], login_header: str, trusted_proxies: tuple,
                    protect_metrics: bool) -> LoginSettings:
    if login_mode != "header" and (trusted_proxies or login_header != DEFAULT_HEADER):
        raise LoginConfigError("--trusted-proxy and --login-header are used only with --login header")
    settings = LoginSettings(mode=login_mode, viewers_path=viewers_path, header=login_header,
                             protect_metrics=protect_metrics,
                             **({"trusted_proxies": trusted_proxies} if trusted_proxies else {}))
    settings.check()
    return settings


@main.command()
@_db_option()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", type=click.IntRange(1, 256),
              help="Threads per process. Default: 8 with one process (waitress reads bodies itself, so a slow "
                   "upload holds no thread); 2 per gunicorn worker, whose threads read their request's body "
                   "themselves: more of them let more slow uploads proceed at once, but they take turns at the "
                   "interpreter lock with the thread storing a report (2 stored 8-15% more reports/s than 8).")
@click.option("--stale-after-days", default=30, show_default=True, type=click.IntRange(1, 3650),
              help="A device with no report for this long is counted as silent.")
@click.option("--per-device-metrics", is_flag=True,
              help="Also expose hdc_device_info, one series per active device (Prometheus's series count then "
                   "grows with the fleet).")
@click.option("--token-rate-limit", "token_rate", default=_rate_default("token"), show_default=True,
              callback=_parse_rate, metavar="PER_MINUTE[/BURST]",
              help="Reports per minute each token may file (burst: at once); 0 switches the limit off.")
@click.option("--address-rate-limit", "address_rate", default=_rate_default("address"), show_default=True,
              callback=_parse_rate, metavar="PER_MINUTE[/BURST]",
              help="Ingest requests per minute from one source address (IPv6: one /64); 0 switches it off.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes serving requests (gunicorn; not on Windows). About one per core: one process "
                   "runs Python on one core at a time.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Serve HTTPS with this PEM certificate (chain) file; needs --tls-key (gunicorn; not on Windows).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The PEM private key of --tls-cert; keep it readable by this service's user only.")
@_with_login_options
@_with_data_options
@_clean_errors
def serve(db_url, host, port, threads, stale_after_days, per_device_metrics, token_rate, address_rate,
          workers, tls_cert, tls_key, login_mode, viewers_path, login_header, trusted_proxies, protect_metrics,
          registry_path, baseline_path, catalog_path) -> None:
    """Run the collector with a production WSGI server (waitress; gunicorn for --workers or --tls-cert)."""
    import os

    from .server import (GUNICORN_THREADS, WAITRESS_THREADS, ServeError, Server, TLSFiles, keep_overview_ready,
                         serve_with_gunicorn, settle_heap)

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls = TLSFiles(tls_cert, tls_key) if tls_cert else None
    login = _login_settings(login_mode, viewers_path, login_header, trusted_proxies, protect_metrics)
    gunicorn = workers > 1 or tls is not None
    threads = threads or (GUNICORN_THREADS if gunicorn else WAITRESS_THREADS)
    if workers > 1:
        # Counters of every worker, summed at /metrics (prometheus_client's multiprocess mode;
        # it must be chosen before prometheus_client is first imported).
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hdc-collector-metrics-")
    from .app import create_app

    app = create_app(Settings(db_url=db_url or "", registry_path=registry_path, baseline_path=baseline_path,
                              catalog_path=catalog_path, stale_after_days=stale_after_days,
                              per_device_metrics=per_device_metrics,
                              rate_limits=RateLimits(token=token_rate, address=address_rate), login=login))
    settle_heap()
    keep_overview_ready(app, start=not gunicorn)
    if gunicorn:
        scheme = "https" if tls else "http"
        click.echo(f"hdc-collector {__version__} listening on {scheme}://{host}:{port} ({workers} worker "
                   f"process{'es' if workers > 1 else ''})", err=True)
        try:
            serve_with_gunicorn(app, host, port, workers, threads, tls)
        except ServeError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            if workers > 1:
                import shutil

                shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
        return
    server = Server(app, host, port, threads=threads)
    click.echo(f"hdc-collector {__version__} listening on {server.url}", err=True)
    server.serve_forever()


@main.group()
def token() -> None:
    """Ward and admin tokens: create, list, rotate, revoke. Every change is written to the audit log."""


def _migrated_engine(db_url: Optional[str]):
    from .store.engine import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    return engine


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d %H:%MZ") if moment else "-"


@token.command("create")
@click.option("--ward", "ward_code", default=None, help="Unit code, 5 digits with leading zeros.")
@click.option("--admin", is_flag=True, help="An admin token (no unit) for the /api/v1/admin endpoints.")
@click.option("--label", default=None, help="Free text to recognise the token later (e.g. the machine group).")
@_db_option()
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path))
@_clean_errors
def token_create(ward_code: Optional[str], admin: bool, label: Optional[str], db_url: Optional[str],
                 registry_path) -> None:
    """Create a token for one unit (--ward) or an admin token (--admin) and print it once; only its hash is stored."""
    from .store.engine import write_transaction
    from .store.tokens import ADMIN, WARD, create_token
    from .store.wards import sync_wards

    if admin == (ward_code is not None):
        raise click.UsageError("give either --ward CODE or --admin")
    registry = load_registry(registry_path)
    if ward_code is not None and ward_code not in registry:
        raise click.BadParameter(f"{ward_code!r} is not a unit code of {registry.source}", param_hint="--ward")
    with write_transaction(_migrated_engine(db_url)) as conn:
        sync_wards(conn, registry)
        click.echo(create_token(conn, ward_code, label, ADMIN if admin else WARD))


@token.command("list")
@click.option("--ward", "ward_code", default=None, help="Only this unit's tokens.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@_db_option()
@_clean_errors
def token_list(ward_code: Optional[str], as_json: bool, db_url: Optional[str]) -> None:
    """Tokens without their secrets: id, kind, unit, state, created, last used, expiry or revocation, label."""
    import json

    from .store.tokens import list_tokens

    with _migrated_engine(db_url).connect() as conn:
        found = list_tokens(conn, ward_code)
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in found], ensure_ascii=False, indent=1))
        return
    click.echo(f"{'TOKEN ID':<16}  {'KIND':<5}  {'UNIT':<5}  {'STATE':<8}  {'CREATED':<17}  {'LAST USED':<17}  "
               f"{'ENDS':<17}  LABEL")
    for t in found:
        click.echo(f"{t.token_id:<16}  {t.kind:<5}  {t.ward_code or '-':<5}  {t.state:<8}  {_when(t.created_at):<17}  "
                   f"{_when(t.last_used_at):<17}  {_when(t.revoked_at or t.expires_at):<17}  {t.label or ''}")


@token.command("rotate")
@click.argument("token_id")
@click.option("--grace-days", default=7, show_default=True, type=click.FloatRange(0, 365),
              help="How long the old token keeps working, so agents can be switched over; 0 ends it now.")
@_db_option()
@_clean_errors
def token_rotate(token_id: str, grace_days: float, db_url: Optional[str]) -> None:
    """Issue a successor of TOKEN_ID (same kind, unit and label) and print it once."""
    from datetime import timedelta

    from .store.engine import write_transaction
    from .store.tokens import rotate_token

    with write_transaction(_migrated_engine(db_url)) as conn:
        rotation = rotate_token(conn, token_id, timedelta(days=grace_days))
    click.echo(rotation.token)
    click.echo(f"new token {rotation.token_id} replaces {token_id}, which stays valid until "
               f"{_when(rotation.old_expires_at)}", err=True)


@token.command("revoke")
@click.argument("token_id")
@_db_option()
@_clean_errors
def token_revoke(token_id: str, db_url: Optional[str]) -> None:
    """End TOKEN_ID at once."""
    from .store.engine import write_transaction
    from .store.tokens import revoke_token

    with write_transaction(_migrated_engine(db_url)) as conn:
        info = revoke_token(conn, token_id)
    click.echo(f"revoked {info.kind} token {info.token_id}" + (f" of unit {info.ward_code}" if info.ward_code else ""))


@main.group()
def viewer() -> None:
    """Viewers of the page and the JSON API for --login basic: a 'name:hash' file, passwords never stored."""


_viewers_file = click.option("--viewers-file", "viewers_path", required=True,
                             type=click.Path(dir_okay=False, path_type=Path), help="The viewers file (mode 0600).")


def _read_password(from_stdin: bool) -> str:
    """From a hidden prompt, asked twice, or the first line of stdin: never from the command line, which
    ``ps`` and shell histories show to others."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1].removesuffix("\r") if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask the password on: pipe it in with --password-stdin")
    return click.prompt("Password (mật khẩu)", hide_input=True, confirmation_prompt=True)


@viewer.command("add")
@click.argument("name")
@_viewers_file
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@_clean_errors
def viewer_add(name: str, viewers_path: Path, password_stdin: bool) -> None:
    """Add viewer NAME, or give NAME a new password; the file keeps only a werkzeug scrypt hash."""
    from .viewers import check_name, set_viewer

    check_name(name)
    new = set_viewer(viewers_path, name, _read_password(password_stdin))
    click.echo(f"{'added' if new else 'changed the password of'} viewer {name!r} in {viewers_path}", err=True)


@viewer.command("remove")
@click.argument("name")
@_viewers_file
@_clean_errors
def viewer_remove(name: str, viewers_path: Path) -> None:
    """Take viewer NAME out of the file; a running collector notices on the next request."""
    from .viewers import remove_viewer

    remove_viewer(viewers_path, name)
    click.echo(f"removed viewer {name!r} from {viewers_path}", err=True)


@viewer.command("list")
@_viewers_file
@_clean_errors
def viewer_list(viewers_path: Path) -> None:
    """The viewers' names, one a line (the file is checked as the collector would check it)."""
    from .viewers import load

    for name in load(viewers_path):
        click.echo(name)


@main.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="JSON instead of lines.")
@_db_option()
@_clean_errors
def audit(limit: int, as_json: bool, db_url: Optional[str]) -> None:
    """The audit log, newest first: who changed which token, when."""
    import json

    from .store.audit import entries

    with _migrated_engine(db_url).connect() as conn:
        found = entries(conn, limit)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in found], ensure_ascii=False, indent=1))
        return
    for e in found:
        detail = " ".join(f"{k}={v}" for k, v in sorted(e.detail.items()) if v is not None)
        click.echo(f"{e.at.strftime('%Y-%m-%d %H:%M:%SZ')}  {e.actor:<24}  {e.action:<14}  "
                   f"{e.token_id or '-':<16}  {e.ward_code or '-':<5}  {detail}")


@main.command()
@click.option("--check", is_flag=True, help="Only compare; exit with status 1 if anything differs.")
@_db_option()
@_clean_errors
def recount(check: bool, db_url: Optional[str]) -> None:
    """Count every unit's devices again from the device rows, and put right the counts /metrics and the page read.

    Ingest keeps those counts itself; run this after restoring a backup or editing the store by hand.
    """
    from .store import counts
    from .store.engine import write_transaction

    with write_transaction(_migrated_engine(db_url)) as conn:
        found = counts.recount(conn, apply=not check)
    if not (found.devices or found.rows):
        click.echo("The counts match the device rows.")
        return
    what = f"{found.devices} device(s) counted wrongly, {found.rows} count row(s) wrong"
    if check:
        click.echo(f"{what}: run 'hdc-collector recount' to put them right.", err=True)
        sys.exit(1)
    click.echo(f"{what}: put right.")


@main.command()
@click.option("--url", required=True, help="Collector base URL, e.g. http://127.0.0.1:8080")
@_db_option()
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
@_clean_errors
def simulate(url, db_url, seed, mode, start, interval_days, unit_codes, devices_per_unit, concurrency,
             registry_path) -> None:
    """Post a realistic simulated fleet for every unit to a collector over HTTP.

    Tokens for the simulated units are created in the collector's store
    (--db), so run it beside the collector you are loading.
    """
    from .simulate import generate_changes, generate_fleet, generate_history
    from .simulate_load import post_fleet
    from .store.engine import make_engine, migrate
    from .store.tokens import create_token
    from .store.wards import sync_wards

    registry = load_registry(registry_path)
    only = _unit_codes(unit_codes, registry)
    sizes = _devices_per_unit(devices_per_unit)
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_wards(conn, registry)
        tokens = {w.code: create_token(conn, w.code, "simulator") for w in registry if only is None or w.code in only}
    today = datetime.now(timezone.utc).date()
    reports = {
        "changes": lambda: generate_changes(registry, seed=seed, start=start.date(), devices_per_unit=sizes,
                                            only=only),
        "history": lambda: generate_history(registry, seed=seed, start=start.date(), end=today,
                                            interval_days=interval_days, devices_per_unit=sizes, only=only),
        "snapshot": lambda: generate_fleet(registry, seed=seed, devices_per_unit=sizes, only=only),
    }[mode]()
    stats = post_fleet(url, engine, registry, reports, tokens.__getitem__, seed, concurrency=concurrency,
                       progress=_progress, only=only)
    click.echo(f"\rposted {stats.sent} reports: "
               + ", ".join(f"HTTP {k}: {v}" for k, v in sorted(stats.by_status.items())))
    if stats.errors:
        raise click.ClickException("some reports were refused:\n" + "\n".join(stats.errors[:5]))


def _unit_codes(text: Optional[str], registry) -> Optional[frozenset[str]]:
    """``--units`` as a set of the registry's codes; None for every unit."""
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
    from .server import Server, keep_overview_ready, settle_heap

    if not keep:
        _remove_sqlite(db_url)
    registry = load_registry()
    own_ward = own_ward or next(iter(registry)).code
    app = create_app(Settings(db_url=db_url))
    settle_heap()
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
    keep_overview_ready(app)  # the page then shows the whole fleet from its first reader on
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


from .migration_cli import migration  # noqa: E402  (a command group of its own module)

main.add_command(migration)


@main.command("ansible-inventory")
@click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Units CSV (code,name,kind); default: Hanoi's 126 units.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (e.g. ansible/inventory/wards.yml) instead of printing.")
@click.option("--check", is_flag=True, help="Write nothing; fail when --out differs from the registry.")
@_clean_errors
def ansible_inventory(registry_path: Optional[Path], out: Optional[Path], check: bool) -> None:
    """Print the Ansible inventory of the units: one group per unit, codes and names from the registry."""
    from inventory.registry import DEFAULT_REGISTRY

    from .ansible_inventory import render_inventory

    registry = load_registry(registry_path)
    text = render_inventory(registry, str(registry_path) if registry_path else DEFAULT_REGISTRY)
    if check:
        if out is None:
            raise click.UsageError("--check needs --out FILE")
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{out} is out of date: run 'hdc-collector ansible-inventory --out {out}'")
        click.echo(f"{out}: up to date")
    elif out is not None:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":
    main()
