"""The Grafana dashboards, as code (grafana-foundation-sdk); writes ``deploy/grafana/dashboards/*.json``.

    .venv/bin/python deploy/grafana/generate.py          # regenerate after changing a panel
    .venv/bin/python deploy/grafana/generate.py --check  # exit 1 if the committed JSON drifted

Panels read the recording rules of ``deploy/prometheus/rules/`` where one exists. Every panel's query goes
through one ``$datasource`` variable, so the JSON imports into any Grafana whatever its Prometheus is
called; no datasource uid is written here. ``tests/deploy/test_prometheus_broker.py`` evaluates every
expression below against a live worker and dispatcher.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, QueryVariable, Row
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueGraphMode
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh, VariableSort
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
WORKER = 'job="vendorwatch-worker"'
DISPATCHER = 'job="vendorwatch-dispatcher"'


def query(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> prometheus.Dataquery:
    built = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        built = built.legend_format(legend)
    if instant:
        built = built.instant().format(PromQueryFormat.TABLE)
    return built


def series(title: str, unit: str, *targets: prometheus.Dataquery, description: str = "") -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(12)
    for target in targets:
        panel = panel.with_target(target)
    return panel.description(description) if description else panel


def number(title: str, unit: str, target: prometheus.Dataquery, description: str = "") -> stat.Panel:
    panel = (stat.Panel().title(title).unit(unit).datasource(DATASOURCE).height(4).span(6)
             .graph_mode(BigValueGraphMode.AREA).color_mode(BigValueColorMode.VALUE).with_target(target))
    return panel.description(description) if description else panel


def datasource_variable() -> DatasourceVariable:
    return DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def ops_overview() -> Dashboard:
    rate = "[$__rate_interval]"
    return (
        Dashboard("vendorwatch / ops overview").uid("vendorwatch-ops").tags(["vendorwatch", "generated"])
        .description("Throughput, lag, latency, errors and delivery health of the vendorwatch workers and dispatcher.")
        .refresh("30s").time("now-1h", "now").with_variable(datasource_variable())
        .with_row(Row("Health"))
        .with_panel(number("Workers up", "none", query(f"sum(up{{{WORKER}}})")))
        .with_panel(number("Dispatchers up", "none", query(f"sum(up{{{DISPATCHER}}})")))
        .with_panel(number("Workers recovering tables", "none",
                           query("sum(vendorwatch_table_recovery_in_progress)"),
                           "Workers whose /healthz answers 503 'recovering' (changelog replay)."))
        .with_panel(number("Receivers disabled (410)", "none", query("sum(vendorwatch_alert_receiver_disabled)")))
        .with_row(Row("Detection"))
        .with_panel(series("Events applied per second", "ops",
                           query("vendorwatch:events_consumed:rate1m", "{{topic}}")))
        .with_panel(series("Events dead-lettered per second", "ops",
                           query("vendorwatch:events_rejected:rate1m", "{{topic}} {{reason}}"),
                           description="Invalid input (by error kind) and 'internal' failures, sent to "
                                       "vendorwatch.deadletter."))
        .with_panel(series("Consumer lag", "short",
                           query("vendorwatch:consumer_lag_records:sum", "{{job}} {{topic}}")))
        .with_panel(series("Event processing time (p95)", "s",
                           query("vendorwatch:event_processing_seconds:p95_1m", "{{topic}}")))
        .with_panel(series("Vendor evaluations per second", "ops",
                           query(f"sum(rate(vendorwatch_vendor_evaluations_total{rate}))", "evaluations"),
                           query(f"sum(rate(vendorwatch_early_evaluation_requests_total{rate}))",
                                 "requests evaluated early", ref="B"),
                           description="Evaluations run, and the re-evaluation requests an input agent "
                                       "evaluated at once because its worker owns their partition (the "
                                       "evaluator then skips them): an alert a Kafka hop sooner."))
        .with_panel(series("Duplicates skipped per second", "ops",
                           query(f"sum by (topic) (rate(vendorwatch_events_duplicate_total{rate}))", "{{topic}}")))
        .with_panel(series("Shipment lane: records waiting and batch size (p50)", "short",
                           query("sum by (instance) (vendorwatch_lane_buffered_records)", "waiting {{instance}}"),
                           query("histogram_quantile(0.5, sum by (instance, le) "
                                 f"(rate(vendorwatch_lane_batch_records_bucket{rate})))", "batch {{instance}}",
                                 ref="B"),
                           description="Shipment records fetched and not yet applied (fetching pauses at the "
                                       "lane's capacity, 1,000) and the records per applied batch (up to 500): "
                                       "both near their maximum means the worker is behind the shipment stream."))
        .with_panel(series("Shipment digest process failures", "short",
                           query(f"sum by (instance) (increase(vendorwatch_lane_digest_failures_total{rate}))",
                                 "{{instance}}"),
                           description="Fetches of the shipment stream the worker's digest process did not "
                                       "digest (it died or was stopped): the worker digested them itself and "
                                       "started another process. Repeated: look for OOM kills."))
        .with_panel(series("Shipment identities held for duplicate detection", "short",
                           query("sum by (instance) (vendorwatch_dedup_index_identities)", "{{instance}}"),
                           query(f"sum by (instance) (increase(vendorwatch_dedup_expired_total{rate}))",
                                 "expired {{instance}}", ref="B"),
                           description="Shipment events (source+id) each worker keeps in memory to recognise "
                                       "repeats (one per shipment applied) and those forgotten after "
                                       "SHIPMENT_DEDUP_RETENTION_S (0, the default: never). The worker's memory "
                                       "grows with the first; plan its memory limit on it or set a retention."))
        .with_panel(series("Evaluations without another worker's global-table write", "short",
                           query(f"sum by (instance, table) (increase(vendorwatch_world_read_timeouts_total{rate}))",
                                 "{{instance}} {{table}}"),
                           description="Evaluations that waited 10 s in vain for this worker's copy of a global "
                                       "table (orgs, competitors, ownership) to read another worker's write, then "
                                       "went ahead: an alert may be missing. Should stay at 0."))
        .with_panel(series("Wait for another worker's global-table write (p99)", "s",
                           query("histogram_quantile(0.99, sum by (instance, table, le) "
                                 f"(rate(vendorwatch_world_read_wait_seconds_bucket{rate})))",
                                 "{{instance}} {{table}}"),
                           description="How long evaluations waited for this worker's copy of a global table to "
                                       "read a write another worker's request named: how far the copy runs "
                                       "behind. At 10 s the evaluation goes ahead without it (counted in "
                                       "'Evaluations without another worker's global-table write')."))
        .with_row(Row("Delivery"))
        .with_panel(series("Deliveries per second by outcome", "ops",
                           query("vendorwatch:alert_deliveries:rate5m", "{{receiver_kind}} {{outcome}}")))
        .with_panel(series("Delivery latency from the triggering event (p95)", "s",
                           query("vendorwatch:alert_delivery_latency_seconds:p95_5m", "{{receiver_kind}}")))
        .with_panel(series("Failed attempt ratio", "percentunit",
                           query("vendorwatch:alert_delivery_attempts_failed:ratio_rate5m", "{{receiver}}")))
        .with_panel(series("Attempt duration (p95)", "s",
                           query("histogram_quantile(0.95, sum by (receiver_kind, le) "
                                 f"(rate(vendorwatch_alert_delivery_seconds_bucket{rate})))", "{{receiver_kind}}")))
        .with_panel(series("Deliveries pending and retries pending", "short",
                           query("sum by (receiver) (vendorwatch_alert_deliveries_pending)", "pending {{receiver}}"),
                           query("sum by (receiver) (vendorwatch_alert_retries_pending)", "retrying {{receiver}}",
                                 ref="B")))
        .with_panel(series("Alerts dead-lettered", "short",
                           query(f"sum by (reason) (increase(vendorwatch_alert_deadletters_total{rate}))",
                                 "{{reason}}")))
    )


def exposure_board() -> Dashboard:
    lab = 'lab=~"$lab"'
    labs = (QueryVariable("lab").label("Lab").datasource(DATASOURCE)
            .query("label_values(vendorwatch_conflicted_exposure_usd, lab)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(".*"))
    return (
        Dashboard("vendorwatch / security exposure").uid("vendorwatch-exposure")
        .tags(["vendorwatch", "generated"])
        .description("Each lab's contract value at vendors its competitors reach, the alerts open on it, "
                     "and how they changed.")
        .refresh("1m").time("now-24h", "now").with_variable(datasource_variable()).with_variable(labs)
        .with_row(Row("Now"))
        .with_panel(number("Conflicted exposure", "currencyUSD",
                           query(f"sum(vendorwatch:conflicted_exposure_usd:by_lab_competitor{{{lab}}})")))
        .with_panel(number("Open alerts", "none", query("sum(vendorwatch:open_alerts:by_severity)")))
        .with_panel(number("Critical alerts open", "none",
                           query('sum(vendorwatch:open_alerts:by_severity{severity="critical"})')))
        .with_panel(number("Alert transitions in range", "none",
                           query("sum(increase(vendorwatch_alert_transitions_total[$__range]))")))
        .with_panel(
            bargauge.Panel().title("Conflicted exposure by lab and competitor").unit("currencyUSD")
            .datasource(DATASOURCE).height(9).span(12)
            .with_target(query(f"vendorwatch:conflicted_exposure_usd:by_lab_competitor{{{lab}}}",
                               "{{lab}} → {{competitor}}", instant=True)))
        .with_panel(
            table.Panel().title("Conflicts by vendor").unit("currencyUSD").datasource(DATASOURCE).height(9).span(12)
            .description("Annual contract value of each (lab, vendor, competitor) conflict and its severity.")
            .with_target(query("sum by (lab, vendor, competitor, severity) "
                               f"(vendorwatch_conflicted_exposure_usd{{{lab}}})", instant=True)))
        .with_row(Row("Over time"))
        .with_panel(series("Conflicted exposure by lab", "currencyUSD",
                           query(f"sum by (lab) (vendorwatch:conflicted_exposure_usd:by_lab_competitor{{{lab}}})",
                                 "{{lab}}")))
        .with_panel(series("Open alerts by severity", "none",
                           query("vendorwatch:open_alerts:by_severity", "{{severity}}")))
        .with_panel(series("Recent transitions", "none",
                           query("sum by (transition, severity) "
                                 "(increase(vendorwatch_alert_transitions_total[$__rate_interval]))",
                                 "{{transition}} {{severity}}"),
                           description="Opened, escalated, de-escalated and resolved alerts per interval."))
    )


DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "vendorwatch-ops.json": ops_overview,
    "vendorwatch-exposure.json": exposure_board,
}


def render(build: Callable[[], Dashboard]) -> str:
    dashboard = build().build()
    # Stable panel ids in layout order: links to a panel (?viewPanel=N) survive a regeneration.
    for number_, panel in enumerate(dashboard.panels or (), start=1):
        panel.id_val = number_
    return JSONEncoder(sort_keys=True, indent=2).encode(dashboard) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    args = parser.parse_args(argv)
    drifted = []
    for name, build in DASHBOARDS.items():
        path, text = OUT_DIR / name, render(build)
        if args.check:
            if not path.exists() or path.read_text() != text:
                drifted.append(name)
        else:
            path.write_text(text)
    for name in drifted:
        print(f"{name} differs from the generator: run python deploy/grafana/generate.py", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
