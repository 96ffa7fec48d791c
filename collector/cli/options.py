"""Options and error handling that several ``hdc-collector`` commands share."""
from __future__ import annotations

import sys
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import click

from collector.settings import (
    DEFAULT_HEADER,
    MODES,
    LoginConfigError,
    LoginSettings,
    Rate,
    RateLimits,
    Settings,
    check_coverage_threshold,
    parse_header_name,
    parse_network,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DEMO_DB = "sqlite:///var/demo.sqlite3"
# The errors that end a command in one line, named by module rather than imported: importing them all would
# load Flask, waitress and every data file's parser into each CLI process (its start-up time), and an error of
# a module the process never imported cannot have been raised.
_DOMAIN_ERRORS = (("inventory.baseline", "BaselineError"), ("inventory.catalog", "CatalogError"),
                  ("inventory.milestones", "MilestoneError"), ("inventory.okr", "OkrError"),
                  ("inventory.registry", "RegistryError"), ("collector.store.engine", "StoreError"),
                  ("collector.store.tokens", "TokenError"), ("collector.settings", "LoginConfigError"),
                  ("collector.http.viewers", "ViewersError"), ("collector.http.server", "ServeError"),
                  ("inventory.prices", "PriceListError"), ("inventory.plan", "PlanError"))


def domain_errors() -> tuple[type[Exception], ...]:
    """The domain errors of the modules this process has imported: the ones a command's code can have raised."""
    return tuple(getattr(sys.modules[module], name) for module, name in _DOMAIN_ERRORS if module in sys.modules)


def clean_errors(fn: Callable) -> Callable:
    """Bad files and URLs end in one line naming the problem, never a traceback."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except domain_errors() as exc:
            raise click.ClickException(str(exc)) from exc
    return wrapper


def db_option(default: Optional[str] = None):
    return click.option("--db", "db_url", default=default, metavar="URL",
                        help="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://... "
                             "(default: $HDC_DB_URL or sqlite:///var/hdc-readiness.sqlite3)")


_DATA_OPTIONS = [
    click.option("--registry", "registry_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Units CSV (code,name,kind); default: Hanoi's 126 units."),
    click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Baseline rules YAML; default: the shipped Hanoi baseline."),
    click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Software catalog YAML; default: the shipped catalog."),
]


def price_list_option():
    return click.option("--price-list", "price_list_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="The city's price list (CSV or XLSX, docs/plan.md) the upgrade plan is priced with; "
                             "default: the shipped example. A bad file stops the start with one line per bad row.")


def with_data_options(fn: Callable) -> Callable:
    for option in reversed(_DATA_OPTIONS):
        fn = option(fn)
    return fn

def _parse_threshold(_ctx, _param, value: float) -> float:
    try:
        return check_coverage_threshold(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def coverage_threshold_option(fn: Callable) -> Callable:
    """``--coverage-threshold``: the share of its registered machines a unit needs reporting to be ready."""
    return click.option("--coverage-threshold", "coverage_threshold", type=float, show_default=True,
                        default=Settings.coverage_threshold, callback=_parse_threshold, metavar="SHARE",
                        help="Share of a unit's registered machines that must report (above 0, at most 1) before "
                             "the unit can be ready; 1 means every one (docs/register.md).")(fn)


def rate_default(which: str) -> str:
    rate = getattr(RateLimits(), which)
    return f"{rate.per_minute:g}/{rate.burst}"


def parse_rate(_ctx, _param, value: str) -> Rate:
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


_LOGIN_OPTIONS = [
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
                 help="A reverse proxy (address or network; repeat for more) whose X-Forwarded-For names the "
                      "client for the rate limits, and, with --login header, whose --login-header is believed "
                      "(required there: 127.0.0.1 for a proxy on this host)."),
    click.option("--login-rate-limit", "login_rate", default="10/10", show_default=True, callback=parse_rate,
                 metavar="PER_MINUTE[/BURST]",
                 help="Wrong passwords per minute from one address, and for one viewer name, before sign-ins are "
                      "refused (429) without checking the password; 0 switches the limit off."),
    click.option("--protect-metrics/--open-metrics", "protect_metrics", default=None,
                 help="With a login, /metrics needs it too (the default: Prometheus then needs basic_auth in its "
                      "scrape config, or scrapes through the signing-in proxy); --open-metrics leaves /metrics "
                      "open to whoever reaches the collector."),
]


def with_login_options(fn: Callable) -> Callable:
    for option in reversed(_LOGIN_OPTIONS):
        fn = option(fn)
    return fn


def login_settings(login_mode: str, viewers_path: Optional[Path], login_header: str, trusted_proxies: tuple,
                   protect_metrics: Optional[bool], login_rate: Rate) -> LoginSettings:
    """The login's options checked together; ``protect_metrics`` None when neither metrics option was given."""
    if login_mode != "header" and login_header != DEFAULT_HEADER:
        raise LoginConfigError("--login-header is used only with --login header")
    if login_mode == "none" and protect_metrics is False:
        raise LoginConfigError("--open-metrics is used only with --login basic or --login header "
                               "(without a login /metrics is open anyway)")
    settings = LoginSettings(mode=login_mode, viewers_path=viewers_path, header=login_header,
                             protect_metrics=protect_metrics, failed_logins=login_rate,
                             trusted_proxies=trusted_proxies if login_mode == "header" else ())
    settings.check()
    return settings


def migrated_engine(db_url: Optional[str]) -> Engine:
    """The store at ``db_url`` (the default one when None), migrated to the newest schema."""
    from collector.store.engine import open_store  # imported when a command opens its store (CLI start-up time)

    return open_store(db_url)
