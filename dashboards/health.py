"""The collector's own health: what it accepts and refuses, how long ingest takes, how big the store grows."""
from __future__ import annotations

from .panels import REFUSED_STEPS, Board, Q, graph_panel, stat_panel, table_panel

UID = "hdc-collector"
RATE = "rate(hdc_ingest_reports_total{sel}[$__rate_interval])"
REFUSED = '{result!~"accepted|duplicate"}'


def build() -> Board:
    b = Board("HDC – Bộ thu / Collector health", UID,
              "hdc-collector's own metrics: reports accepted, duplicated (agent retries) and refused by reason, "
              "ingest time, store size and the cost of a /metrics scrape.")
    b.add(graph_panel("Báo cáo theo kết quả / Reports by result", "Reports per second by result: accepted, "
                      "duplicate (a retry of a stored report) or the reason it was refused.", "reqps", stacked=True),
          [Q(f"sum by (result) ({RATE.format(sel='')})", "{{result}}")], span=12, height=8)
    b.add(graph_panel("Báo cáo bị từ chối / Refused reports", "Refused reports per second by reason: "
                      "unauthenticated or forbidden (tokens), malformed or invalid (agent version), too_large, "
                      "unavailable (the store).", "reqps"),
          [Q(f"sum by (result) ({RATE.format(sel=REFUSED)})", "{{result}}")], span=12, height=8)
    b.add(stat_panel("Tỷ lệ từ chối / Refused share", "Share of received reports that were refused.",
                     "percentunit", thresholds=REFUSED_STEPS),
          [Q(f"sum({RATE.format(sel=REFUSED)}) / sum({RATE.format(sel='')})", "refused")], span=6, height=6)
    b.add(stat_panel("Kho dữ liệu / Store rows", "Rows in the store's growing tables: every report is kept "
                     "raw, devices are one row each.", "none", by_name=True),
          [Q("sum by (table) (hdc_store_rows)", "{{table}}")], span=6, height=6)
    b.add(graph_panel("Thời gian xử lý / Ingest duration", "Time to authenticate, validate, judge and store one "
                      "report: median, 95th and 99th percentile.", "s"),
          [Q(f"histogram_quantile({q}, sum by (le) (rate(hdc_ingest_duration_seconds_bucket[$__rate_interval])))",
             f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)], span=12, height=6)
    b.add(graph_panel("Thời gian đọc /metrics / Scrape duration", "How long Prometheus takes to scrape a "
                      "collector: /metrics reads the store's aggregates on every scrape.", "s"),
          [Q("scrape_duration_seconds and on (instance, job) hdc_build_info", "{{instance}}")], span=12, height=6)
    b.add(table_panel("Phiên bản / Versions", "Collector version, Python and the baseline it judges by, per "
                      "collector process.", "none", {}),
          [Q("hdc_build_info", instant=True, table=True), Q("hdc_baseline_info", instant=True, table=True)],
          span=12, height=6)
    return b
