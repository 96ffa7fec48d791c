"""``hdc-collector serve``: the collector behind a production WSGI server."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from collector import __version__
from collector.cli.options import (
    clean_errors,
    coverage_threshold_option,
    db_option,
    login_settings,
    parse_rate,
    price_list_option,
    rate_default,
    with_data_options,
    with_login_options,
)
from collector.cli.prune import retention_of, with_retention_options
from collector.settings import MiB, RateLimits, Settings


@click.command()
@db_option()
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
@click.option("--token-rate-limit", "token_rate", default=rate_default("token"), show_default=True,
              callback=parse_rate, metavar="PER_MINUTE[/BURST]",
              help="Reports per minute each token may file (burst: at once); 0 switches the limit off.")
@click.option("--address-rate-limit", "address_rate", default=rate_default("address"), show_default=True,
              callback=parse_rate, metavar="PER_MINUTE[/BURST]",
              help="Ingest requests per minute from one source address (IPv6: one /64); 0 switches it off.")
@click.option("--failed-auth-rate-limit", "failures_rate", default=rate_default("failures"), show_default=True,
              callback=parse_rate, metavar="PER_MINUTE[/BURST]",
              help="Failed authentications (tokens that are not valid) per minute from one address before its "
                   "tokens are refused unchecked; counted apart from what valid tokens use. 0 switches it off.")
@click.option("--unit-byte-budget", "unit_budget_mib", default=Settings().unit_bytes_per_day // MiB,
              show_default=True, type=click.IntRange(0, 1024 * 1024), metavar="MIB_PER_DAY",
              help="MiB of report bodies (decompressed) each unit may send a day, refilled evenly; beyond it "
                   "reports are refused with 429 until the budget refills. 0 switches it off.")
@click.option("--endpoint-target", "endpoint_targets", multiple=True, metavar="NAME",
              help="A reachability target (the name in agents' hdc_endpoints) that gets series of its own in "
                   "/metrics; repeat for each. Others are counted as target=\"other\". Default: hdc-portal, "
                   "hdc-cloud, hdc-mail and the hosts of the catalog's HDC endpoints.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes serving requests (gunicorn; not on Windows). About one per core: one process "
                   "runs Python on one core at a time.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Serve HTTPS with this PEM certificate (chain) file; needs --tls-key (gunicorn; not on Windows).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The PEM private key of --tls-cert; keep it readable by this service's user only.")
@click.option("--prune-every-minutes", default=60, show_default=True, type=click.IntRange(0, 100_000),
              help="Remove the raw reports the retention no longer keeps this often, in small batches beside "
                   "ingest (0: never; run 'hdc-collector prune' instead).")
@with_retention_options
@click.option("--okr", "okr_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Objectives and key results YAML (docs/okr.md); default: the programme's shipped OKRs.")
@coverage_threshold_option
@with_login_options
@with_data_options
@price_list_option()
@clean_errors
def serve(db_url, host, port, threads, stale_after_days, per_device_metrics, token_rate, address_rate, failures_rate,
          unit_budget_mib, endpoint_targets, workers, tls_cert, tls_key, prune_every_minutes, keep_all_days,
          keep_daily_days, okr_path, coverage_threshold, login_mode, viewers_path, login_header, trusted_proxies,
          login_rate, protect_metrics, registry_path, baseline_path, catalog_path, price_list_path) -> None:
    """Run the collector with a production WSGI server (waitress; gunicorn for --workers or --tls-cert)."""
    # The web stack (Flask, waitress) is imported by the command that serves, not by every CLI process (its
    # start-up time).
    from collector.http.server import (
        GUNICORN_THREADS,
        WAITRESS_THREADS,
        ServeError,
        TLSFiles,
        keep_overview_ready,
        listening,
        serve_with_gunicorn,
        settle_heap,
    )
    from collector.ingest.validation import compile_schemas

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls = TLSFiles(tls_cert, tls_key) if tls_cert else None
    retention = retention_of(keep_all_days, keep_daily_days)
    login = login_settings(login_mode, viewers_path, login_header, trusted_proxies, protect_metrics, login_rate)
    gunicorn = workers > 1 or tls is not None
    threads = threads or (GUNICORN_THREADS if gunicorn else WAITRESS_THREADS)
    if workers > 1:
        # Counters of every worker, summed at /metrics (prometheus_client's multiprocess mode;
        # it must be chosen before prometheus_client is first imported).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hdc-collector-metrics-")
    from collector.app import create_app  # only now: it imports prometheus_client (see above)

    app = create_app(Settings(db_url=db_url or "", registry_path=registry_path, baseline_path=baseline_path,
                              catalog_path=catalog_path, okr_path=okr_path, price_list_path=price_list_path,
                              stale_after_days=stale_after_days,
                              per_device_metrics=per_device_metrics,
                              rate_limits=RateLimits(token=token_rate, address=address_rate, failures=failures_rate),
                              trusted_proxies=trusted_proxies, login=login, retention=retention,
                              prune_every_seconds=prune_every_minutes * 60.0,
                              unit_bytes_per_day=unit_budget_mib * MiB,
                              endpoint_targets=tuple(endpoint_targets) or None,
                              coverage_threshold=coverage_threshold))
    compile_schemas()
    settle_heap()
    keep_overview_ready(app, start=not gunicorn)
    app.extensions["hdc"].start_background()  # in the one process, or gunicorn's master (threads do not fork)
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
                shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
        return
    server = listening(app, host, port, "--port N", threads=threads, proxy_headers=bool(trusted_proxies))
    click.echo(f"hdc-collector {__version__} listening on {server.url}", err=True)
    server.serve_forever()
