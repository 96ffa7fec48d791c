"""City overview: who is ready, what fails most, how far each milestone is, which agents went quiet."""
from __future__ import annotations

from .panels import (
    APP_NAME,
    GREEN_ORANGE_RED,
    MILESTONE_TITLE,
    PASSING,
    RED_ORANGE_GREEN,
    RULE_TITLE,
    WARD_NAME,
    Board,
    Q,
    bars_panel,
    days_left,
    graph_panel,
    stat_panel,
    table_panel,
    ward_links,
)

UID = "hdc-city"


def build() -> Board:
    b = Board("HDC – Tổng quan thành phố / City overview", UID,
              "Readiness of Hanoi's 126 commune-level units against the equipment baseline, from the agents' "
              "reports as judged by hdc-collector.")
    b.add(stat_panel("Đơn vị sẵn sàng / Units ready", "Units with a register, enough of its machines reporting "
                     "(the coverage threshold) and every active device passing the hard rules, out of all units "
                     "of the registry.", "none"),
          [Q('sum(hdc_units{status="ready"})', "ready"), Q("sum(hdc_units)", "units")], span=6, height=4)
    b.add(stat_panel("Thiết bị đạt / Devices passing", "Share of active devices passing every hard rule "
                     "(ready, or ready with conditions).", "percentunit", thresholds=RED_ORANGE_GREEN),
          [Q(f"sum({PASSING}) / sum(hdc_devices)", "passing")], span=4, height=4)
    b.add(stat_panel("Thiết bị hoạt động / Active devices", "Devices that reported within the stale age.", "none"),
          [Q("sum(hdc_devices)", "devices")], span=4, height=4)
    b.add(stat_panel("Thiết bị im lặng / Silent devices", "Devices with no report within the stale age and no "
                     "successor with their name: someone should look at them.", "none", thresholds=GREEN_ORANGE_RED),
          [Q("sum(hdc_silent_devices)", "silent")], span=4, height=4)
    b.add(stat_panel("Đơn vị theo trạng thái / Units by status", "ready, not_ready (a device fails a hard rule), "
                     "unknown (a fact could not be read), incomplete (too few registered machines report), "
                     "no_register (no register imported), no_data (neither a register nor a report).", "none",
                     by_name=True),
          [Q("sum by (status) (hdc_units)", "{{status}}")], span=6, height=4)
    b.add(stat_panel("Số ngày đến hạn / Days to each milestone", "Days left until each programme milestone "
                     "(0 on its day, negative once it has passed).", "d", by_name=True),
          [Q(f"{days_left()} * {MILESTONE_TITLE}", "{{title_en}}")], span=24, height=4)

    grid = b.add(stat_panel("126 đơn vị / All units", "Every unit's share of devices passing the hard rules; "
                            "0% also means nothing reported. Click a unit for its drill-down.", "percentunit",
                            thresholds=RED_ORANGE_GREEN, by_name=True),
                 [Q(f"hdc_ward_readiness_ratio * {WARD_NAME}", "{{name}}")], span=24, height=18)
    grid.override_by_field_type("number", [ward_links("${__field.labels.ward}")])

    coverage = b.add(stat_panel("Tỷ lệ máy báo cáo theo đơn vị / Coverage per unit", "Share of each unit's "
                                "registered machines that report (each class counted up to its registered number); "
                                "a unit without a register is absent. Below 100% the unit cannot be ready: its page "
                                "lists the machines that never reported.", "percentunit",
                                thresholds=RED_ORANGE_GREEN, by_name=True),
                     [Q(f"hdc_ward_coverage_ratio * {WARD_NAME}", "{{name}}")], span=24, height=18)
    coverage.override_by_field_type("number", [ward_links("${__field.labels.ward}")])

    b.add(table_panel("Mức sẵn sàng theo đơn vị / Readiness by unit", "One row per unit: share of devices "
                      "passing, devices, devices not passing, silent devices, time since the last report.", "none",
                      {"Value #A": ("passing", "percentunit"), "Value #B": ("devices", "none"),
                       "Value #C": ("not passing", "none"), "Value #D": ("silent", "none"),
                       "Value #E": ("last report age", "s")}, ward_link=True),
          [Q("hdc_ward_readiness_ratio * on (ward) group_left (name, kind) max by (ward, name, kind) "
             "(hdc_ward_info)", instant=True, table=True),
           Q("sum by (ward) (hdc_devices)", instant=True, table=True),
           Q('sum by (ward) (hdc_devices{verdict=~"not_ready|unknown"})', instant=True, table=True),
           Q("sum by (ward) (hdc_silent_devices)", instant=True, table=True),
           Q("time() - max by (ward) (hdc_ward_last_report_timestamp_seconds)", instant=True, table=True)],
          span=24, height=12)

    b.add(bars_panel("Tiêu chí trượt nhiều nhất / Most failed rules", "Active devices failing each baseline "
                     "rule, city-wide.", "none"),
          [Q(f"topk(10, sum by (rule) (hdc_rule_failures) * {RULE_TITLE})", "{{title_en}}", instant=True)],
          span=12, height=10)
    b.add(bars_panel("Ứng dụng trong danh mục / Catalog applications installed", "Active devices with each "
                     "catalog application installed, and where the programme moves it (target). Migration states "
                     "(moved / in progress) come with the migration work; until then this is what the agents see "
                     "installed.", "none"),
          [Q(f"sum by (app) (hdc_app_devices) * {APP_NAME}", "{{name_en}} → {{target}}", instant=True)],
          span=12, height=10)
    b.add(graph_panel("Thiết bị theo kết quả / Devices by verdict", "Active devices by latest verdict over time.",
                      "none", stacked=True),
          [Q("sum by (verdict) (hdc_devices)", "{{verdict}}")], span=12, height=8)
    b.add(bars_panel("Đơn vị lâu chưa báo cáo / Units silent longest", "Time since each unit's last report, the "
                     "ten oldest: a whole unit going quiet points at its network or its agents' schedule.", "s"),
          [Q(f"topk(10, (time() - hdc_ward_last_report_timestamp_seconds) * {WARD_NAME})", "{{name}}",
             instant=True)], span=12, height=8)
    _plan(b)
    return b


def _plan(b: Board) -> None:
    """The upgrade plan (docs/plan.md): what it costs, Windows 11 eligibility, when units will be ready."""
    b.add(stat_panel("Kinh phí nâng cấp / Upgrade plan cost", "Funds all units need to reach the baseline, by the "
                     "price list in force today (parts and technicians' hours).", "suffix: ₫"),
          [Q("sum(hdc_ward_plan_cost_vnd)", "total")], span=6, height=4)
    b.add(stat_panel("Đủ điều kiện Windows 11 / Windows 11 eligibility", "Active devices by Windows 11 eligibility: "
                     "eligible, eligible after firmware settings (a technician's visit, no purchase), not eligible "
                     "(replace), unknown (a fact not read).", "none", by_name=True),
          [Q("sum by (eligibility) (hdc_win11_devices)", "{{eligibility}}")], span=18, height=4)
    b.add(bars_panel("Kinh phí theo đơn vị / Plan cost by unit", "The ten units whose upgrade plan costs most.",
                     "suffix: ₫"),
          [Q(f"topk(10, sum by (ward) (hdc_ward_plan_cost_vnd) * {WARD_NAME})", "{{name}}", instant=True)],
          span=12, height=10)
    b.add(bars_panel("Dự báo ngày sẵn sàng / Days to forecast readiness", "Days until each unit has no device "
                     "left not ready at its pace of the last 4 weeks, the ten furthest; units with no forecast "
                     "(no progress, too little history) are not shown.", "d"),
          [Q(f"topk(10, (hdc_ward_forecast_ready_timestamp_seconds - time()) / 86400 * {WARD_NAME})", "{{name}}",
             instant=True)], span=12, height=10)
