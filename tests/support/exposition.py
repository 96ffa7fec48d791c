"""The collector's Prometheus exposition in tests: every name it can expose, and promtool's verdict on a text."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from collector.context import build_context
from collector.settings import Settings

from conftest import need


def exposed_names(db_path: Path) -> set[str]:
    """Every sample name a collector can expose (per-device series included), read from its families."""
    context = build_context(Settings(db_url=f"sqlite:///{db_path}", per_device_metrics=True))
    suffixes = {"gauge": ("",), "info": ("_info",), "counter": ("_total", "_created"),
                "histogram": ("_bucket", "_count", "_sum", "_created")}
    try:
        return {f.name + suffix for f in context.metrics_registry.collect() for suffix in suffixes[f.type]}
    finally:
        context.stop_background()  # collecting read the overview, whose refresher it started
        context.engine.dispose()


def promtool_check(text: str) -> None:
    need(shutil.which("promtool") is not None, "promtool not installed (Debian package 'prometheus')")
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr
