"""What a collector process is configured with: frozen values (no Flask), passed to the app factory.

The option values of the login gate (``http/login.py``) and the rate limits
(``http/ratelimit.py``) live here too, so the command line can check them
before anything is served and the settings never import the web layer.
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional, Union

from collector.store.engine import default_url
from collector.store.retention import Retention
from inventory.readiness import COVERAGE_THRESHOLD

MiB = 1024 * 1024
# Reachability targets named as /metrics labels unless the deployment names its own (--endpoint-target): the
# HDC's portal, cloud and mail, as the shipped agent examples and the demo's fleet name them. The hosts of the
# catalog's application endpoints are added (metrics/store.py); any other target counts as "other".
DEFAULT_ENDPOINT_TARGETS = ("hdc-portal", "hdc-cloud", "hdc-mail")

MODES = ("none", "basic", "header")
DEFAULT_HEADER = "X-Remote-User"
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Rate:
    """``per_minute`` sustained, ``burst`` at once; ``per_minute == 0`` switches the limit off."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute < 0 or self.burst < 0 or (self.per_minute > 0 and self.burst < 1):
            raise ValueError(f"rate limit {self.per_minute}/min with burst {self.burst}: both must be positive "
                             "(or the rate 0 to switch the limit off)")

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """``PER_MINUTE[/BURST]`` as written on the command line (burst defaults to the rate); ``0`` is off."""
        rate, _, burst = text.strip().partition("/")
        usage = f"{text!r} is not PER_MINUTE[/BURST] with positive numbers (or 0 for no limit)"
        try:
            per_minute = float(rate)
            burst_size = int(burst) if burst else None
        except ValueError:
            raise ValueError(usage) from None
        if not math.isfinite(per_minute):
            raise ValueError(usage)
        try:
            return cls(per_minute, math.ceil(per_minute) if burst_size is None else burst_size)
        except ValueError as exc:
            raise ValueError(f"{usage}: {exc}") from None


@dataclass(frozen=True)
class RateLimits:
    # A ward's few dozen PCs flushing their queues after an outage fit in the burst; a looping
    # agent or a leaked token is held to 2 reports a second.
    token: Rate = Rate(per_minute=120, burst=240)
    # High enough for a whole city behind one NAT or proxy, or the demo's simulated fleet; it
    # keeps one address from taking the whole ingest capacity (300-500 reports/s on SQLite, 2 cores).
    address: Rate = Rate(per_minute=6000, burst=6000)
    # Failed authentications (a token that is not valid) per address, counted apart: a stranger guessing tokens
    # spends this, never what the agents behind the same proxy or NAT use; while it is empty, tokens from that
    # address are not even looked up.
    failures: Rate = Rate(per_minute=30, burst=60)


class LoginConfigError(ValueError):
    """A login option is unusable; the message names the option."""


def parse_header_name(value: str) -> str:
    """An HTTP header name (letters, digits, dashes), as ``--login-header`` takes it."""
    if not _HEADER_NAME.match(value or "") or value.lower() in ("authorization", "cookie", "host"):
        raise LoginConfigError(f"{value!r} is not a header name a proxy can set (letters, digits and '-'; "
                               "not Authorization, Cookie or Host)")
    return value


def parse_network(value: str) -> IPNetwork:
    """One trusted proxy: an address (``10.0.0.5``) or a network (``10.0.0.0/24``, ``fd00::/64``)."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise LoginConfigError(f"{value!r} is not an IP address or network such as 10.0.0.5 or 10.0.0.0/24") \
            from None


@dataclass(frozen=True)
class LoginSettings:
    """Who may read the page and the API; ``mode="none"`` keeps today's open page."""

    mode: str = "none"
    viewers_path: Optional[Path] = None
    header: str = DEFAULT_HEADER
    # With ``header``: the proxies whose header is believed. None by default: header mode must name them.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # /metrics behind the login too: None follows the mode (protected whenever a login is on), False opts out.
    protect_metrics: Optional[bool] = None
    # Wrong passwords allowed per client address and per viewer name (http/login.py): a burst, then a trickle.
    failed_logins: Rate = Rate(per_minute=10, burst=10)

    def check(self) -> None:
        """Raise LoginConfigError naming the option when the combination cannot work."""
        if self.mode not in MODES:
            raise LoginConfigError(f"--login: {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode == "basic" and self.viewers_path is None:
            raise LoginConfigError("--login basic needs --viewers-file FILE "
                                   "(create it with 'hdc-collector viewer add NAME --viewers-file FILE')")
        if self.mode != "basic" and self.viewers_path is not None:
            raise LoginConfigError("--viewers-file is used only with --login basic")
        if self.mode == "header" and not self.trusted_proxies:
            raise LoginConfigError(f"--login header needs --trusted-proxy ADDRESS: the reverse proxy whose "
                                   f"{self.header} header is believed (e.g. --trusted-proxy 127.0.0.1 for a proxy "
                                   "on this host); anybody else could name themselves")
        if self.mode == "none" and self.protect_metrics:
            raise LoginConfigError("--protect-metrics needs --login basic or --login header")

    @property
    def metrics_protected(self) -> bool:
        """Whether /metrics needs the login: yes whenever a login is on, unless opted out (``--open-metrics``)."""
        return self.mode != "none" and self.protect_metrics is not False



def check_coverage_threshold(value: float) -> float:
    """A coverage threshold is a share above 0 and at most 1 (1 = every registered machine reports)."""
    if not (isinstance(value, (int, float)) and 0 < value <= 1):
        raise ValueError(f"coverage threshold {value!r}: must be a share above 0 and at most 1 (e.g. 0.95)")
    return float(value)


@dataclass(frozen=True)
class Settings:
    db_url: str = ""
    registry_path: Optional[Path] = None
    baseline_path: Optional[Path] = None
    catalog_path: Optional[Path] = None
    milestones_path: Optional[Path] = None
    okr_path: Optional[Path] = None
    # The city's price list the upgrade plan is priced with (inventory/prices.py); None: the shipped example.
    price_list_path: Optional[Path] = None
    # A report with 20,000 packages is about 2 MB; 8 MiB leaves room without inviting abuse.
    max_report_bytes: int = 8 * MiB
    # Bytes of report bodies one unit may send a day (ingest/budget.py); 0 switches the budget off. A unit's
    # few dozen PCs reporting hourly send a few dozen MiB (unchanged software lists go by digest); a token
    # sending 8 MiB bodies at its rate limit would send 1 GiB a minute.
    unit_bytes_per_day: int = 256 * MiB
    # Clocks at wards drift; a report from further ahead than this is refused, not trusted.
    max_clock_skew_seconds: int = 24 * 3600
    # A device with no report for this long is counted as silent, not by its last verdict.
    stale_after_days: int = 30
    # One hdc_device_info series per active device: useful for a small fleet or a drill-down,
    # off by default because it ties Prometheus's series count to the number of devices.
    per_device_metrics: bool = False
    # Ingest rate limits per ward token and per source address (ingest/ratelimit.py).
    rate_limits: RateLimits = RateLimits()
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client: rate limits count that
    # client, not the proxy every agent comes through. None by default: the peer is the client.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # Who may read the page, the JSON read API and the exports (http/login.py); off by default.
    login: LoginSettings = LoginSettings()
    # How long raw reports are kept whole, then thinned (store/retention.py), and how often ``serve`` prunes
    # them (0: never; ``hdc-collector prune`` then does it).
    retention: Retention = Retention()
    prune_every_seconds: float = 3600.0
    # The reachability targets that may be /metrics labels; None: DEFAULT_ENDPOINT_TARGETS and the catalog's hosts.
    endpoint_targets: Optional[tuple[str, ...]] = None
    # Share of a unit's registered machines that must report before its verdicts can make it ready
    # (docs/register.md): every one by default, since any machine that does not report could be the one failing.
    coverage_threshold: float = COVERAGE_THRESHOLD

    def __post_init__(self) -> None:
        check_coverage_threshold(self.coverage_threshold)

    def active_since(self, now: Optional[datetime] = None) -> datetime:
        """The cut-off between active and silent devices, as of ``now``."""
        return (now or datetime.now(timezone.utc)) - timedelta(days=self.stale_after_days)

    def resolved_db_url(self) -> str:
        return self.db_url or default_url()
