"""What a collector process is configured with; one frozen value, passed to the app factory."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

from .login import LoginSettings
from .ratelimit import RateLimits
from .store.engine import default_url

MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    db_url: str = ""
    registry_path: Optional[Path] = None
    baseline_path: Optional[Path] = None
    catalog_path: Optional[Path] = None
    milestones_path: Optional[Path] = None
    # A report with 20,000 packages is about 2 MB; 8 MiB leaves room without inviting abuse.
    max_report_bytes: int = 8 * MiB
    # Clocks at wards drift; a report from further ahead than this is refused, not trusted.
    max_clock_skew_seconds: int = 24 * 3600
    # A device with no report for this long is counted as silent, not by its last verdict.
    stale_after_days: int = 30
    # One hdc_device_info series per active device: useful for a small fleet or a drill-down,
    # off by default because it ties Prometheus's series count to the number of devices.
    per_device_metrics: bool = False
    # Ingest rate limits per ward token and per source address (collector/ratelimit.py).
    rate_limits: RateLimits = RateLimits()
    # Who may read the page, the JSON read API and the exports (collector/login.py); off by default.
    login: LoginSettings = LoginSettings()

    def active_since(self, now: Optional[datetime] = None) -> datetime:
        """The cut-off between active and silent devices, as of ``now``."""
        return (now or datetime.now(timezone.utc)) - timedelta(days=self.stale_after_days)

    def resolved_db_url(self) -> str:
        return self.db_url or default_url()
