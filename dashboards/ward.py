"""Unit drill-down: one unit's devices and equipment, failing rules, applications and reach of the HDC."""
from __future__ import annotations

from inventory.snmp_vendors import EQUIPMENT_CLASSES

from .panels import (
    APP_NAME,
    PASSING,
    RED_ORANGE_GREEN,
    RULE_TITLE,
    WARD_DASHBOARD_UID,
    Board,
    Q,
    bars_panel,
    graph_panel,
    stat_panel,
)

UID = WARD_DASHBOARD_UID
W = 'ward="$ward"'
EQUIPMENT = "|".join(EQUIPMENT_CLASSES)


def build() -> Board:
    b = Board("HDC – Chi tiết đơn vị / Unit drill-down", UID,
              "One commune-level unit: its devices by verdict and class, the rules they fail, the catalog "
              "applications installed and whether its devices reach the HDC. Device by device: the readiness "
              "page of hdc-collector.", ward_variable=True)
    b.add(stat_panel("Thiết bị đạt / Devices passing", "Share of the unit's active devices passing every hard "
                     "rule.", "percentunit", thresholds=RED_ORANGE_GREEN),
          [Q(f"hdc_ward_readiness_ratio{{{W}}}", "passing")], span=4, height=5)
    b.add(stat_panel("Thiết bị theo kết quả / Devices by verdict", "The unit's active devices by latest verdict.",
                     "none", by_name=True),
          [Q(f"sum by (verdict) (hdc_devices{{{W}}})", "{{verdict}}")], span=8, height=5)
    b.add(stat_panel("Im lặng, đã thay / Silent, replaced", "Devices with no report within the stale age: silent "
                     "ones need a visit, replaced ones were succeeded by a new machine with their name.", "none",
                     by_name=True),
          [Q(f"sum(hdc_silent_devices{{{W}}})", "silent"), Q(f"sum(hdc_replaced_devices{{{W}}})", "replaced")],
          span=6, height=5)
    b.add(stat_panel("Báo cáo gần nhất / Last report", "Time since the unit's most recent report.", "s"),
          [Q(f"time() - hdc_ward_last_report_timestamp_seconds{{{W}}}", "age")], span=6, height=5)

    b.add(bars_panel("Tiêu chí trượt / Failed rules", "The unit's active devices failing each baseline rule.",
                     "none"),
          [Q(f"sort_desc(sum by (rule) (hdc_rule_failures{{{W}}}) * {RULE_TITLE})", "{{title_en}}", instant=True)],
          span=12, height=10)
    b.add(bars_panel("Loại thiết bị / Devices by class and verdict", "Active devices of the unit by device class "
                     "and verdict (classes with no device are left out).", "none"),
          [Q(f"sum by (device_class, verdict) (hdc_class_devices{{{W}}}) > 0", "{{device_class}} · {{verdict}}",
             instant=True)], span=12, height=10)
    b.add(bars_panel("Thiết bị mạng và nguồn / Network and power equipment", "The unit's switches, routers, "
                     "firewalls, access points, printers, UPS and NAS read over SNMP (hdc-agent probe-snmp), by class "
                     "and verdict: a switch past support or on a 100 Mbit/s uplink, a UPS battery to replace.", "none"),
          [Q(f'sum by (device_class, verdict) (hdc_class_devices{{{W},device_class=~"{EQUIPMENT}"}}) > 0',
             "{{device_class}} · {{verdict}}", instant=True)], span=12, height=10)
    b.add(bars_panel("Ứng dụng đã cài / Catalog applications installed", "Active devices of the unit with each "
                     "catalog application installed, and the application's planned target.", "none"),
          [Q(f"sum by (app) (hdc_app_devices{{{W}}}) * {APP_NAME}", "{{name_en}} → {{target}}", instant=True)],
          span=12, height=10)
    b.add(bars_panel("Kết nối tới HDC / HDC reachability", "Share of the unit's devices that reached each HDC "
                     "endpoint at their last check.", "percentunit", thresholds=RED_ORANGE_GREEN, max_value=1),
          [Q(f"sum by (target) (hdc_endpoint_reachable_devices{{{W}}}) "
             f"/ sum by (target) (hdc_endpoint_checked_devices{{{W}}})", "{{target}}", instant=True)],
          span=12, height=10)

    b.add(graph_panel("Kết quả theo thời gian / Verdicts over time", "The unit's active devices by verdict.",
                      "none", stacked=True),
          [Q(f"sum by (verdict) (hdc_devices{{{W}}})", "{{verdict}}")], span=12, height=8)
    b.add(graph_panel("Đơn vị so với thành phố / Unit against the city", "Share of devices passing the hard "
                      "rules: this unit and the whole city.", "percentunit"),
          [Q(f"hdc_ward_readiness_ratio{{{W}}}", "$ward"), Q(f"sum({PASSING}) / sum(hdc_devices)", "city")],
          span=12, height=8)
    b.add(bars_panel("Kinh phí theo công việc / Plan cost by action", "What the unit's upgrade plan costs per "
                     "action (parts and that action's technician hours), by the price list in force today.",
                     "suffix: ₫"),
          [Q(f"sum by (action) (hdc_ward_plan_cost_vnd{{{W}}}) > 0", "{{action}}", instant=True)],
          span=12, height=8)
    b.add(stat_panel("Windows 11 / Windows 11 eligibility", "The unit's active devices by Windows 11 eligibility; "
                     "after_firmware_settings needs a technician's visit, not a purchase.", "none", by_name=True),
          [Q(f"sum by (eligibility) (hdc_win11_devices{{{W}}})", "{{eligibility}}")], span=12, height=8)
    return b
