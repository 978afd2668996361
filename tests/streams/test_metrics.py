"""Worker metrics: names, bounded labels, series at 0 from start-up, the exposure and lag gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from schemas.registry import INPUT_TOPICS, TOPIC_DATA_SHARES
from streams.app import create_app
from streams.lane import LaneRecord
from streams.metrics import build_worker_metrics, conflicted_exposure, lag_by_topic
from vendorwatch.settings import load_settings

SCALE = {"vendor_id": "scale-ai", "annual_value_usd": 1_200_000,
         "conflicts": [{"competitor_id": "meta", "severity": "critical", "alert_id": "a1"}]}
TURING = {"vendor_id": "turing", "annual_value_usd": 300_000, "conflicts": []}


def test_conflicted_exposure_counts_only_vendors_with_a_conflict():
    values = conflicted_exposure([("google", {"scale-ai": SCALE, "turing": TURING}), ("openai", None)])
    assert values == {("google", "scale-ai", "meta", "critical"): 1_200_000.0}


def test_the_exposure_gauge_forgets_a_conflict_that_ended():
    registry = CollectorRegistry()
    metrics = build_worker_metrics(registry)
    labels = {"lab": "google", "vendor": "scale-ai", "competitor": "meta", "severity": "critical"}
    metrics.set_conflicted_exposure(conflicted_exposure([("google", {"scale-ai": SCALE})]))
    assert registry.get_sample_value("vendorwatch_conflicted_exposure_usd", labels) == 1_200_000
    metrics.set_conflicted_exposure(conflicted_exposure([("google", {"turing": TURING})]))
    assert registry.get_sample_value("vendorwatch_conflicted_exposure_usd", labels) is None


def test_lag_sums_assigned_partitions_and_skips_unknown_offsets():
    assigned = [("vendorwatch.orgs", 0), ("vendorwatch.orgs", 1), ("vendorwatch.contracts", 0), ("other", 0)]
    highwater = {("vendorwatch.orgs", 0): 10, ("vendorwatch.orgs", 1): 7, ("vendorwatch.contracts", 0): None,
                 ("other", 0): 99}
    committed = {("vendorwatch.orgs", 0): 4, ("vendorwatch.orgs", 1): 7, ("vendorwatch.contracts", 0): 3,
                 ("other", 0): 0}
    lag = lag_by_topic(assigned, highwater, committed, ["vendorwatch.orgs", "vendorwatch.contracts"])
    assert lag == {"vendorwatch.contracts": 0, "vendorwatch.orgs": 6}


def test_counters_follow_prometheus_naming_and_start_at_zero():
    registry = CollectorRegistry()
    build_worker_metrics(registry, INPUT_TOPICS)
    names = {m.name for m in registry.collect()}
    assert {"vendorwatch_events_consumed", "vendorwatch_events_rejected", "vendorwatch_alert_transitions",
            "vendorwatch_event_processing_seconds", "vendorwatch_consumer_lag_records",
            "vendorwatch_conflicted_exposure_usd", "vendorwatch_open_alerts", "vendorwatch_lane_buffered_records",
            "vendorwatch_lane_batch_records", "vendorwatch_dedup_index_identities"} <= names
    assert all(name.startswith("vendorwatch_") for name in names)
    for topic in INPUT_TOPICS:
        for reason in ("envelope", "unknown_type", "data", "invalid", "internal"):
            assert registry.get_sample_value("vendorwatch_events_rejected_total",
                                             {"topic": topic, "reason": reason}) == 0
    assert registry.get_sample_value("vendorwatch_alert_transitions_total",
                                     {"transition": "opened", "severity": "critical"}) == 0


def test_the_lane_gauge_reads_the_worker_lanes_buffer_at_scrape_time(tmp_path):
    # A real worker app (no broker needed to build it): the records its shipment lane holds are what
    # the gauge reports, read when scraped, not counted on the hot path.
    registry = CollectorRegistry()
    settings = load_settings({"VENDORWATCH_DATA_DIR": str(tmp_path)})
    worker = create_app(settings, registry)
    lane = worker.app.transport.lane
    assert registry.get_sample_value("vendorwatch_lane_buffered_records") == 0
    lane.put([LaneRecord(TOPIC_DATA_SHARES, 0, offset, b"v", b"[]", [], 0.0) for offset in range(3)])
    assert registry.get_sample_value("vendorwatch_lane_buffered_records") == 3
    assert registry.get_sample_value("vendorwatch_lane_batch_records_count") == 0


def test_the_dedup_gauge_counts_the_identities_the_shipment_index_holds(tmp_path):
    # Read at scrape time from the worker's own index, over every partition it holds (and after the
    # index is rebuilt on recovery, which replaces its shards).
    registry = CollectorRegistry()
    settings = load_settings({"VENDORWATCH_DATA_DIR": str(tmp_path)})
    worker = create_app(settings, registry)
    index = worker.tables.shipments_seen
    assert registry.get_sample_value("vendorwatch_dedup_index_identities") == 0
    index.shard(0).update(dict.fromkeys(["s\x00a", "s\x00b"], 1))
    index.shard(3).update(dict.fromkeys(["s\x00c"], 3 << 40))
    assert registry.get_sample_value("vendorwatch_dedup_index_identities") == 3
    index.shards = {5: {"s\x00d": 5 << 40}}
    assert registry.get_sample_value("vendorwatch_dedup_index_identities") == 1
