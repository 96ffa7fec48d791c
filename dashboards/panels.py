"""Panel and variable helpers shared by every hdc dashboard.

Each helper takes a unit, so no panel can be built without one, and every
panel reads the ``$datasource`` variable, so a dashboard works against any
Prometheus an operator picks. Titles carry Vietnamese first, then English,
for the HDC's operators and the leadership they brief.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import prometheus as prometheus_models

# The provisioned Prometheus data source (dashboards/provisioning/datasources/prometheus.yaml).
DATASOURCE_UID = "hdc-prometheus"
DATASOURCE_NAME = "Prometheus (HDC)"
DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAG = "hdc-readiness"
WARD_DASHBOARD_UID = "hdc-ward"

# Joins that put a unit's, a rule's or an application's name beside its code.
# ``max by`` keeps the join one-to-one even if two collectors expose the same info series.
WARD_NAME = "on (ward) group_left (name) max by (ward, name) (hdc_ward_info)"
RULE_TITLE = "on (rule) group_left (title_vi, title_en) max by (rule, title_vi, title_en) (hdc_rule_info)"
APP_NAME = "on (app) group_left (name_en, target) max by (app, name_en, target) (hdc_app_info)"
MILESTONE_TITLE = "on (milestone) group_left (title_en) max by (milestone, title_en) (hdc_milestone_info)"
PASSING = 'hdc_devices{verdict=~"ready|ready_with_conditions"}'

RED_ORANGE_GREEN = [models.Threshold(None, "red"), models.Threshold(0.5, "orange"), models.Threshold(1, "green")]
GREEN_ORANGE_RED = [models.Threshold(None, "green"), models.Threshold(1, "orange"), models.Threshold(10, "red")]
# Red where HdcCollectorRejectingReports fires (hdc-alerts.yml).
REFUSED_STEPS = [models.Threshold(None, "green"), models.Threshold(0.05, "orange"), models.Threshold(0.2, "red")]


@dataclass(frozen=True)
class Q:
    """One PromQL query of a panel: instant ones feed tables and bar gauges, range ones graphs and stats."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False


@dataclass
class Board:
    """Numbers the panels in order (ids and refIds stay stable across regenerations)."""

    title: str
    uid: str
    description: str
    ward_variable: bool = False
    builder: dash.Dashboard = field(init=False)
    _next_id: int = field(default=1, init=False)

    def __post_init__(self) -> None:
        self.builder = (dash.Dashboard(self.title).uid(self.uid).description(self.description).tags([TAG])
                        .editable().timezone("browser").time("now-7d", "now").refresh("5m")
                        .tooltip(models.DashboardCursorSync.CROSSHAIR)
                        .annotation(builtin_annotations())
                        .link(dash.DashboardLink("HDC").type(models.DashboardLinkType.DASHBOARDS).tags([TAG])
                              .as_dropdown(True).include_vars(True).keep_time(True))
                        .with_variable(datasource_variable()))
        if self.ward_variable:
            self.builder.with_variable(ward_variable())

    def add(self, panel: Builder, queries: list[Q], *, span: int, height: int) -> Builder:
        panel.id(self._next_id).datasource(DATASOURCE).span(span).height(height)
        for i, q in enumerate(queries):
            target = prometheus.Dataquery().expr(q.expr).ref_id(chr(ord("A") + i)).datasource(DATASOURCE)
            if q.legend:
                target.legend_format(q.legend)
            if q.table:
                target.format(prometheus_models.PromQueryFormat.TABLE)
            if q.instant:
                target.instant()
            else:
                target.range()
            panel.with_target(target)
        self._next_id += 1
        self.builder.with_panel(panel)
        return panel


def builtin_annotations() -> dash.AnnotationQuery:
    """Grafana's own "Annotations & Alerts", which its UI expects on every dashboard."""
    return (dash.AnnotationQuery().name("Annotations & Alerts").built_in(1).enable(True).hide(True)
            .icon_color("rgba(0, 211, 255, 1)").type("dashboard")
            .datasource(models.DataSourceRef(type_val="grafana", uid="-- Grafana --")))


def days_left(selector: str = "") -> str:
    """Days until a milestone, as the page counts them: 0 on its (Hanoi) day, negative once it has passed."""
    return f"ceil((hdc_milestone_due_timestamp_seconds{selector} - time()) / 86400)"


def datasource_variable() -> dash.DatasourceVariable:
    return (dash.DatasourceVariable("datasource").label("Nguồn dữ liệu / Data source").type("prometheus")
            .current(models.VariableOption(text=DATASOURCE_NAME, value=DATASOURCE_UID)))


def ward_variable() -> dash.QueryVariable:
    """Units listed by name, with their code as the value (query_result keeps labels in name order)."""
    return (dash.QueryVariable("ward").label("Đơn vị / Unit").datasource(DATASOURCE)
            .query({"query": "query_result(max by (ward, name) (hdc_ward_info))", "refId": "ward"})
            .regex('/name="(?<text>[^"]+)".*ward="(?<value>[^"]+)"/')
            .refresh(models.VariableRefresh.ON_DASHBOARD_LOAD).sort(models.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC))


def stat_panel(title: str, description: str, unit: str, *, thresholds: Optional[list[models.Threshold]] = None,
               by_name: bool = False) -> stat.Panel:
    panel = (stat.Panel().title(title).description(description).unit(unit)
             .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
             .text_mode(common.BigValueTextMode.VALUE_AND_NAME if by_name else common.BigValueTextMode.AUTO)
             .graph_mode(common.BigValueGraphMode.NONE))
    if thresholds:
        panel.thresholds(_thresholds(thresholds)).color_mode(common.BigValueColorMode.BACKGROUND)
    else:
        panel.color_mode(common.BigValueColorMode.NONE)
    return panel


def bars_panel(title: str, description: str, unit: str, *, thresholds: Optional[list[models.Threshold]] = None,
               max_value: Optional[float] = None) -> bargauge.Panel:
    panel = (bargauge.Panel().title(title).description(description).unit(unit).min(0)
             .orientation(common.VizOrientation.HORIZONTAL).display_mode(common.BarGaugeDisplayMode.BASIC)
             .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
             .show_unfilled(True))
    if max_value is not None:
        panel.max(max_value)
    if thresholds:
        panel.thresholds(_thresholds(thresholds))
    return panel


def graph_panel(title: str, description: str, unit: str, *, stacked: bool = False) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).description(description).unit(unit).fill_opacity(10)
             .legend(common_builders.VizLegendOptions().show_legend(True)
                     .display_mode(common.LegendDisplayMode.LIST).placement(common.LegendPlacement.BOTTOM)))
    if stacked:
        panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    return panel


def table_panel(title: str, description: str, unit: str, columns: dict[str, tuple[str, str]],
                ward_link: bool = False) -> table.Panel:
    """A table merged from instant queries; ``columns`` maps a query's "Value #X" field to (header, unit)."""
    panel = (table.Panel().title(title).description(description).unit(unit)
             .with_transformation(models.DataTransformerConfig(id_val="merge", options={}))
             .with_transformation(models.DataTransformerConfig(id_val="organize", options={
                 "excludeByName": {"Time": True, "instance": True, "job": True},
                 "renameByName": {src: header for src, (header, _) in columns.items()}})))
    for _src, (header, column_unit) in columns.items():
        panel.override_by_name(header, [models.DynamicConfigValue(id_val="unit", value=column_unit)])
    if ward_link:
        panel.override_by_name("ward", [ward_links("${__data.fields.ward}")])
    return panel


def ward_links(field_ref: str) -> models.DynamicConfigValue:
    """A data link to the unit drill-down for the unit ``field_ref`` names, keeping time range and data source."""
    url = f"/d/{WARD_DASHBOARD_UID}?var-ward={field_ref}&${{__url_time_range}}&var-datasource=${{datasource}}"
    return models.DynamicConfigValue(id_val="links", value=[{"title": "Chi tiết đơn vị / Unit drill-down",
                                                              "url": url}])


def _thresholds(steps: list[models.Threshold]) -> dash.ThresholdsConfig:
    return dash.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE).steps(steps)
