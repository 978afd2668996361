"""The benchmark's own parts: a seeded data set, the result table and JSON, and (broker) one tiny run.

No figure is asserted: the benchmark reports figures, these tests check what it counts and writes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from bench import report
from bench.__main__ import QUICK, parse, run
from bench.cleanup import topics_of
from bench.dataset import Shape, background_records, expected_totals, grid_records, shipment_records
from bench.hops import HOPS
from bench.latency import percentile
from schemas import registry as names
from schemas.batch import BATCH_CONTENT_TYPE
from streams.admin import ensure_topics
from vendorwatch.brokers import client_options

OWN_TOPICS = ("bench-", "changelog__bench-")


async def topic_names(settings) -> set[str]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


SHAPE = Shape(events=1050, labs=3, vendors=20, per_record=100, seed=7, prefix="t")


def test_the_data_set_is_the_same_for_the_same_seed_and_differs_for_another():
    assert list(shipment_records(SHAPE)) == list(shipment_records(SHAPE))
    assert list(background_records(SHAPE)) == list(background_records(SHAPE))
    assert list(shipment_records(SHAPE)) != list(shipment_records(replace(SHAPE, seed=8)))


def test_each_record_is_one_vendor_s_batch_keyed_by_that_vendor():
    records = list(shipment_records(SHAPE))
    assert sum(r.events for r in records) == 1050 and max(r.events for r in records) == 100
    for record in records:
        events = json.loads(record.value)
        assert record.topic == names.TOPIC_DATA_SHARES and len(events) == record.events
        assert {e["data"]["vendor_id"].encode() for e in events} == {record.key}
        assert dict(record.headers)["content-type"] == BATCH_CONTENT_TYPE.encode()
    ids = [e["id"] for r in records for e in json.loads(r.value)]
    assert len(set(ids)) == len(ids)
    assert sum(t[0] for t in expected_totals(records).values()) == 1050


def test_one_event_per_record_is_a_plain_structured_event():
    record = next(shipment_records(replace(SHAPE, per_record=1)))
    assert json.loads(record.value)["type"] == names.DATA_SHARED and record.events == 1


def test_the_grid_has_every_lab_vendor_pair_once():
    totals = expected_totals(list(grid_records(SHAPE)))
    assert len(totals) == 3 * 20 and {t[0] for t in totals.values()} == {1}


def test_the_background_covers_every_input_topic_but_shipments():
    topics = {r.topic for r in background_records(SHAPE)}
    assert topics == {names.TOPIC_ORGS, names.TOPIC_CONTRACTS, names.TOPIC_OWNERSHIP}


FIGURES = {"limit_rps": 200_000, "peer_rps": 40_000, "vendorwatch_rps": 100_000, "limit_cpu_us_per_event": 4.0,
           "peer_cpu_us_per_event": 20.0, "vendorwatch_cpu_us_per_event": 10.0, "alert_latency_p50_ms": 40.0,
           "alert_latency_p99_ms": 90.5, "alert_latency_max_ms": 120.0, "recovery_entries_per_s": 150_000,
           "rss_bytes_per_100k_entries": 30_000_000}


def test_vendorwatch_is_reported_as_a_ratio_of_the_limit_and_the_peer(tmp_path):
    results = report.with_ratios(FIGURES)
    assert results["vendorwatch_vs_limit"] == 0.5 and results["vendorwatch_vs_peer"] == 2.5
    assert results["vendorwatch_vs_limit_cpu"] == 0.4 and results["vendorwatch_vs_peer_cpu"] == 2.0
    text = report.table(results)
    for _, label, _, _ in report.ROWS:
        assert label in text
    assert "100,000" in text and "90.5" in text and "2.50" in text
    out = tmp_path / "results" / "latest.json"
    report.write_json(results, out)
    assert json.loads(out.read_text()) == results


def test_results_without_a_required_figure_are_not_written(tmp_path):
    with pytest.raises(KeyError, match="recovery_entries_per_s"):
        report.write_json({k: v for k, v in FIGURES.items() if k != "recovery_entries_per_s"}, tmp_path / "x.json")


def test_percentiles_are_nearest_rank():
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)) == (50.0, 99.0, 100.0)
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0


def test_quick_and_overrides():
    plan, _ = parse(["--quick", "--events", "5000", "--recovery-entries", "300", "--per-record", "1"])
    assert (plan.events, plan.recovery_vendors, plan.per_record, plan.injections) == (5000, 30, 1, QUICK.injections)


@pytest.mark.broker
@pytest.mark.timeout(900)
async def test_a_tiny_run_reports_every_figure_with_consistent_counts(broker_settings, tmp_path):
    plan = replace(QUICK, events=3000, per_record=50, recovery_vendors=30, injections=3, spacing_s=0.2)
    await ensure_topics(broker_settings)
    before = await topic_names(broker_settings)
    results = await run(plan, broker_settings, tmp_path)
    # Every stack the run started (throughput, latency, recovery) and the peer took their topics with them.
    for _ in range(50):  # a deletion reaches the broker's metadata a moment after it is acknowledged
        if not (left := {t for t in await topic_names(broker_settings) - before if t.startswith(OWN_TOPICS)}):
            break
        await asyncio.sleep(0.2)
    assert not left, left
    for key in report.REQUIRED_KEYS:
        assert key in results
    assert results["limit_events"] == results["peer_events"] == results["vendorwatch_events"] == 3000
    assert results["limit_totals_match"] is True
    assert results["vendorwatch_entries"] == results["vendorwatch_entries_expected"]
    assert results["alert_samples"] + results["alerts_missing"] == 3
    assert "alert_hops_error" not in results
    if results["alert_samples"]:  # read back from the run's own records: every hop of every alert that arrived
        assert all(results[f"alert_hop_{hop}_p50_ms"] >= 0 for hop in HOPS)
    assert results["recovery_entries"] == 300 and results["recovery_store"] == "rocksdb://"
    assert results["recovery_entries_per_s"] > 0 and results["recovery_cold_entries_per_s"] > 0
    for phase in ("limit", "peer", "vendorwatch", "alert_latency", "recovery"):  # each began on a settled machine
        assert results[f"settle_{phase}_s"] >= 0 and isinstance(results[f"settle_{phase}_quiet"], bool)
    report.write_json(results, tmp_path / "latest.json")


def test_the_step_figures_cover_each_step_of_the_shipment_path():
    from bench.steps import measure
    figures = measure(2_000)
    assert set(figures) == {"limit: orjson + dict", "decode (msgspec)", "judge a record at once",
                            "add to a vendor's totals", "index a written seen chunk"}
    assert all(us > 0 for us in figures.values())


def test_a_phase_deletes_only_the_topics_named_for_it():
    names = ["bench-throughput-1-ab12cd-evaluations", "bench-throughput-1-ab12cd-shipments-changelog",
             "bench-throughput-1-ab12cdef-evaluations", "vendorwatch.data-shares", "vendorwatch.alerts",
             "changelog__bench-peer-1-ff00aa--vendorwatch.data-shares--default", "vw-2-000000-evaluations"]
    assert topics_of(names, "bench-throughput-1-ab12cd") == [
        "bench-throughput-1-ab12cd-evaluations", "bench-throughput-1-ab12cd-shipments-changelog"]
    assert topics_of(names, "bench-peer-1-ff00aa") == [
        "changelog__bench-peer-1-ff00aa--vendorwatch.data-shares--default"]
    assert topics_of(names, "bench-throughput-2-ab12cd") == [], "another run's phase"
