"""Cloud migration: each unit's applications by migration state, the evidence behind them, and the HDC.

States (not_used, local, migrating, on_hdc, retired) come from the
collector's migration model: inferred from what agents see installed and
reach, or declared by operators; contradictions between the two are shown,
not hidden. Installations by planned target and reachability stay beside
them, because they are the evidence.
"""
from __future__ import annotations

from .panels import (
    APP_NAME,
    MILESTONE_TITLE,
    RED_ORANGE_GREEN,
    WARD_NAME,
    Board,
    Q,
    bars_panel,
    days_left,
    graph_panel,
    stat_panel,
    table_panel,
)

UID = "hdc-migration"
MOVING = 'hdc_app_info{target=~"hdc_cloud|hdc_web|retired"}'


def build() -> Board:
    b = Board("HDC – Chuyển đổi lên đám mây / Cloud migration", UID,
              "Each unit's catalog applications by migration state (inferred from reports or declared by "
              "operators), contradictions between the two, local-application sprawl against the city's target, "
              "installations by planned target, and reachability of the HDC.", ward_variable=True)
    b.add(stat_panel("Số ngày đến hạn / Days to the cloud milestones", "Days left until the HDC cloud starts and "
                     "until every system works together (negative once passed).", "d", by_name=True),
          [Q(days_left('{milestone=~"hdc_cloud_start|integrated_operation"}') + f" * {MILESTONE_TITLE}",
             "{{title_en}}")], span=12, height=4)
    b.add(stat_panel("Ứng dụng đã chuyển / Applications migrated", "Applications on the HDC cloud or retired, out "
                     "of all applications in use that the programme moves (city-wide).", "percentunit",
                     thresholds=RED_ORANGE_GREEN),
          [Q("sum(hdc_ward_applications_migrated) / sum(hdc_ward_applications_in_use)", "migrated")],
          span=6, height=4)
    b.add(stat_panel("Ứng dụng theo trạng thái / Applications by state", "Units x catalog applications in each "
                     "migration state, city-wide.", "none", by_name=True),
          [Q("sum by (state) (hdc_ward_applications)", "{{state}}")], span=18, height=4)
    b.add(table_panel("Mâu thuẫn / Contradictions", "Units where a declared state disagrees with what the agents "
                      "see (declared on the HDC while the local install is still seen, or the HDC endpoint "
                      "unreachable for days), most first.", "none", {"Value": ("contradictions", "none")},
                      ward_link=True),
          [Q(f"topk(20, sum by (ward) (hdc_migration_contradictions) * {WARD_NAME})", instant=True, table=True)],
          span=12, height=10)
    b.add(table_panel("Ứng dụng cục bộ / Local applications per unit", "Distinct catalog applications still "
                      "installed locally on the unit's devices, most first; the city's target is "
                      "hdc_local_applications_target.", "none", {"Value": ("local applications", "none")},
                      ward_link=True),
          [Q(f"topk(20, hdc_ward_local_applications * {WARD_NAME})", instant=True, table=True)], span=12, height=10)
    b.add(table_panel("Trạng thái ứng dụng của đơn vị / The unit's applications by state", "Each catalog "
                      "application of the selected unit with its current migration state.", "none",
                      {"Value": ("current", "none")}),
          [Q(f'hdc_applications{{ward="$ward"}} * {APP_NAME}', instant=True, table=True)], span=24, height=10)
    b.add(stat_panel("Cài đặt theo đích / Installations by target", "Device installations of catalog "
                     "applications, summed by where the programme moves each application.", "none", by_name=True),
          [Q(f"sum by (target) (sum by (app) (hdc_app_devices) * {APP_NAME})", "{{target}}")], span=12, height=4)
    b.add(bars_panel("Ứng dụng toàn thành phố / Applications city-wide", "Active devices with each catalog "
                     "application installed, with its planned target.", "none"),
          [Q(f"sum by (app) (hdc_app_devices) * {APP_NAME}", "{{name_en}} → {{target}}", instant=True)],
          span=12, height=12)
    b.add(table_panel("Đơn vị còn ứng dụng cần chuyển / Units with applications still to move", "Units with the "
                      "most device installations of applications that move to the HDC or retire.", "none",
                      {"Value": ("installations", "none")}, ward_link=True),
          [Q(f"topk(20, sum by (ward) (hdc_app_devices * on (app) group_left () max by (app) ({MOVING})) "
             f"* {WARD_NAME})", instant=True, table=True)], span=12, height=12)
    b.add(bars_panel("Ứng dụng của đơn vị / The unit's applications", "Active devices of the selected unit with "
                     "each catalog application installed.", "none"),
          [Q('sum by (app) (hdc_app_devices{ward="$ward"}) * ' + APP_NAME, "{{name_en}} → {{target}}",
             instant=True)], span=12, height=10)
    b.add(graph_panel("Kết nối tới HDC / HDC reachability", "Share of devices, city-wide, that reached each HDC "
                      "endpoint at their last check.", "percentunit"),
          [Q("sum by (target) (hdc_endpoint_reachable_devices) / sum by (target) (hdc_endpoint_checked_devices)",
             "{{target}}")], span=12, height=10)
    b.add(bars_panel("Đơn vị khó kết nối / Units reaching the HDC least", "The ten units with the lowest share of "
                     "devices reaching the HDC endpoints.", "percentunit", thresholds=RED_ORANGE_GREEN, max_value=1),
          [Q("bottomk(10, (sum by (ward) (hdc_endpoint_reachable_devices) / sum by (ward) "
             f"(hdc_endpoint_checked_devices)) * {WARD_NAME})", "{{name}}", instant=True)], span=24, height=10)
    return b
