"""The alert path's hops as the benchmark reads them back: real records of each kind, no broker."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from alerts.record import Attempt, Delivery, Source
from bench.hops import HOPS, Marks, hop_samples, request_causes
from schemas import Alert, Evidence, Exposure, Influence, encode_structured, new_event
from streams.requests import WorldChange, encode_world_request


class Rec:
    def __init__(self, value: bytes | None, timestamp_ms: int, headers=()) -> None:
        self.value, self.key, self.headers, self.timestamp = value, b"lab-00", list(headers), timestamp_ms


def world_request(*causes: str) -> bytes:
    # The worker's own encoding: the benchmark must read what streams.world_requests sends.
    at = datetime(2025, 6, 12, 10, tzinfo=UTC)
    changes = [WorldChange("ownership", f"v-{c}", evidence(c), at, "lab-01") for c in causes]
    return encode_world_request(changes, 3, {"ownership": 1}, "w")


def evidence(event_id: str) -> Evidence:
    return Evidence(source="urn:bench", id=event_id, type="vendorwatch.ownership.stated.v1")


def alert_record(event_id: str, *causes: str, timestamp_ms: int) -> Rec:
    alert = Alert(alert_id=event_id.split(".")[0], sequence=1, status="firing", transition="opened", severity="high",
                  lab_id="lab-00", vendor_id="v", competitor_id="lab-01", influence=Influence(economic_share=30.0),
                  exposure=Exposure(annual_value_usd=1e6), summary="lab-01 holds 30% of v.",
                  evidence=tuple(evidence(c) for c in causes))
    event = new_event(id=event_id, source="urn:vendorwatch:detector", type="vendorwatch.alert.v1", data=alert)
    return Rec(encode_structured(event), timestamp_ms)


def delivery(webhook_id: str, *starts: float) -> Delivery:
    return Delivery("bench", webhook_id, {"alert_id": webhook_id.split(".")[0], "sequence": "1"}, "{}",
                    Source("vendorwatch.alerts", 0, 1), 0.0, 0.0, 60.0,
                    attempts=tuple(Attempt(at, "ok", "204") for at in starts))


def test_a_world_request_names_its_causes_and_anything_else_names_none():
    assert request_causes(world_request("e-1", "e-2")) == ["e-1", "e-2"]
    for other in (b"", b"not json", b"[1, 2]", b'{"exposure": {"lab_id": "x"}}', b'{"world": [{"cause": 3}]}', None):
        assert request_causes(other) == []


def test_each_hop_runs_from_one_mark_to_the_next_at_the_earliest_of_each():
    marks = Marks()
    for partition_ts in (1_000_030, 1_000_020):  # one world change goes to every evaluations partition
        marks.request(Rec(world_request("e-1"), partition_ts))
    marks.alert(alert_record("a-1.1", "e-1", timestamp_ms=1_000_050))
    marks.alert(Rec(b"not an alert", 1_000_001))  # dead-lettered by the dispatcher: no mark
    marks.deliveries([delivery("a-1.1", 1000.060, 1000.500), delivery("a-9.1"), delivery("zz.1", 999.0)])
    hops = hop_samples({"e-1": 1000.000, "e-2": 1000.000}, {"e-1": 1000.070}, marks)
    assert list(hops) == list(HOPS)
    assert [round(hops[hop][0], 3) for hop in HOPS] == [20.0, 30.0, 10.0, 10.0]
    assert all(len(samples) == 1 for samples in hops.values())  # e-2 never arrived: left out of every hop


def test_an_alert_naming_several_events_marks_each_and_samples_are_sorted():
    marks = Marks()
    marks.request(Rec(world_request("e-1", "e-2"), 2_000_010))
    marks.alert(alert_record("a-1.1", "e-1", "e-2", timestamp_ms=2_000_040))
    marks.deliveries([delivery("a-1.1", 2000.050)])
    hops = hop_samples({"e-1": 2000.000, "e-2": 2000.005}, {"e-1": 2000.060, "e-2": 2000.060}, marks)
    assert [round(x, 3) for x in hops["publish_to_request"]] == [5.0, 10.0]
    assert [round(x, 3) for x in hops["post_to_arrival"]] == [10.0, 10.0]


def test_the_table_shows_each_hop_when_the_run_measured_them():
    from bench import report
    assert "alert path" not in report.table({})
    shown = report.table({f"alert_hop_{hop}_{p}_ms": 12.5 for hop in HOPS for p in ("p50", "p99")})
    assert "publish to request" in shown and "12.5 / 12.5" in shown


@pytest.mark.broker
async def test_hops_that_cannot_be_read_back_say_why_and_cost_nothing_else(broker_settings):
    from bench.latency import _marks
    # A name of its own each run: the local broker creates a topic that is asked for (its first read did).
    never = f"vw-never-ran-{secrets.token_hex(4)}"
    marks, error = await _marks(broker_settings.model_copy(update={"app_id": never, "dispatcher_group": never}))
    assert marks is None and error is not None and error.startswith("LookupError") and never in error
