"""The programme by OKR: key-result progress and pace, and the milestones' work items in the city's four counts.

Read from the collector's OKR families (``collector/metrics/okr.py``), the
values of the ``/okr`` page; Prometheus keeps their history, so the progress
graph is the key results' weekly (and daily) history.
"""
from __future__ import annotations

from .panels import RED_ORANGE_GREEN, WARD_NAME, Board, Q, bars_panel, graph_panel, stat_panel, table_panel

UID = "hdc-okr"
KEY_RESULT = "{{objective}} / {{key_result}}"


def build() -> Board:
    b = Board("HDC – OKR / Objectives and key results", UID,
              "The programme's objectives and key results as the collector measures them (the /okr page): "
              "progress from baseline to target, pace against the calendar, and the work items of each "
              "milestone as the city reports its tasks (done on time, done late, in progress, overdue).")
    b.add(stat_panel("Kết quả theo đánh giá / Key results by pace", "Key results done, on track, at risk and "
                     "off track (behind the straight line from start to due by more than the file's margin, or "
                     "past due).", "none", by_name=True),
          [Q("sum by (status) (hdc_key_result_status)", "{{status}}")], span=12, height=4)
    b.add(stat_panel("Nhiệm vụ theo trạng thái / Work items by state", "Work items of every milestone, city-wide, "
                     "in the four counts of the city's reports.", "none", by_name=True),
          [Q("sum by (state) (hdc_work_items)", "{{state}}")], span=12, height=4)
    b.add(bars_panel("Tiến độ kết quả then chốt / Key-result progress", "Each key result's progress from its "
                     "baseline to its target, 0 to 100%.", "percentunit", thresholds=RED_ORANGE_GREEN,
                     max_value=1),
          [Q("hdc_key_result_progress_ratio", KEY_RESULT, instant=True)], span=12, height=10)
    b.add(graph_panel("Tiến độ theo thời gian / Progress over time", "Each key result's progress over the "
                      "dashboard's time range (widen it to see weeks).", "percentunit"),
          [Q("hdc_key_result_progress_ratio", KEY_RESULT)], span=12, height=10)
    b.add(table_panel("Nhiệm vụ theo mốc / Work items by milestone", "Work items of each milestone by state, "
                      "city-wide.", "none", {"Value": ("items", "none")}),
          [Q("sum by (milestone, state) (hdc_work_items)", instant=True, table=True)], span=12, height=10)
    b.add(table_panel("Đơn vị có nhiệm vụ quá hạn / Units with overdue work items", "Units with the most "
                      "overdue work items, all milestones together.", "none", {"Value": ("overdue", "none")},
                      ward_link=True),
          [Q(f'topk(20, sum by (ward) (hdc_work_items{{state="overdue"}}) * {WARD_NAME})', instant=True,
             table=True)], span=12, height=10)
    return b
