"""/metrics is written by collector.exposition: the same bytes as prometheus_client's generate_latest."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary, generate_latest
from prometheus_client.core import GaugeMetricFamily

from collector.metrics.exposition import render


def test_render_matches_generate_latest_on_every_kind_of_metric():
    reg = CollectorRegistry()
    c = Counter("hdc_things", "Things counted.\nSecond line with a \\ backslash.", ["ward", "result"], registry=reg)
    c.labels("00070", "accepted").inc(3)
    c.labels('say "hi"', "line\nbreak \\ slash").inc(0.5)
    Gauge("hdc_ratio", "A ratio.", registry=reg).set(1234567.891)
    g = Gauge("hdc_big", "Big and odd values.", ["k"], registry=reg)
    for k, v in (("inf", float("inf")), ("-inf", float("-inf")), ("nan", float("nan")), ("huge", 1e21),
                 ("tiny", 1e-7), ("neg", -3), ("zero", 0), ("vi", 42)):
        g.labels(k if k != "vi" else "Phường Hoàn Kiếm").set(v)
    Histogram("hdc_seconds", "Durations.", registry=reg, buckets=(0.001, 0.1, 1)).observe(0.05)
    Summary("hdc_sizes", "Sizes.", registry=reg).observe(7)
    Info("hdc_build", "Build.", registry=reg).info({"version": "1.0", "python": "3.11"})

    class Families:
        def collect(self):
            family = GaugeMetricFamily("hdc_devices", "Devices.", labels=["ward", "verdict"])
            for i in range(300):
                family.add_metric([f"{i:05d}", "ready" if i % 2 else "not_ready"], i)
            yield family

    reg.register(Families())
    assert render(reg) == generate_latest(reg)


def test_metrics_endpoint_is_the_library_exposition_of_the_app_registry(tmp_path):
    from collector.app import create_app
    from collector.settings import Settings

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"))
    body = app.test_client().get("/metrics").data
    lines = [line for line in body.splitlines() if not line.startswith(b"hdc_ingest_duration_seconds_created")
             and not line.startswith(b"hdc_ingest_reports_created")]
    expected = [line for line in generate_latest(app.extensions["hdc"].metrics_registry).splitlines()
                if not line.startswith(b"hdc_ingest_duration_seconds_created")
                and not line.startswith(b"hdc_ingest_reports_created")]
    assert len(lines) > 1000 and lines == expected


def test_metrics_says_the_format_it_writes_once(tmp_path):
    """Prometheus picks its parser by the Content-Type: the text format 0.0.4, charset given once."""
    from werkzeug.http import parse_options_header

    from collector.app import create_app
    from collector.settings import Settings

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"))
    answer = app.test_client().get("/metrics")
    header = answer.headers["Content-Type"]
    assert header.lower().count("charset") == 1, header
    media_type, options = parse_options_header(header)
    assert (media_type, options) == ("text/plain", {"version": "0.0.4", "charset": "utf-8"})
    assert answer.data.startswith(b"# HELP ") and b"# EOF" not in answer.data  # not OpenMetrics


def test_render_pauses_the_cyclic_collector_and_leaves_it_as_it_was():
    """A scrape's many short-lived containers set off no collections (render's docstring says why); the collector
    is running again afterwards, or still off in a process that switched it off."""
    import gc

    seen = []

    class Watching:
        def collect(self):
            seen.append(gc.isenabled())
            yield GaugeMetricFamily("hdc_ratio", "A ratio.", value=0.5)

    reg = CollectorRegistry()
    reg.register(Watching())
    assert gc.isenabled()
    assert render(reg) == generate_latest(reg)
    assert seen == [False, True] and gc.isenabled()  # paused in render; not in generate_latest
    gc.disable()
    try:
        render(reg)
        assert not gc.isenabled()
    finally:
        gc.enable()
