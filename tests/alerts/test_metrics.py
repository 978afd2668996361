"""Dispatcher metrics: delivery latency from the triggering event, and event times read from alert bodies."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.metrics import event_time
from schemas import encode_structured, new_event
from tests.alerts.test_dispatcher import Clock, alert_event, answer, dispatcher, record


def test_event_time_of_a_structured_cloudevent():
    assert event_time('{"time": "2025-06-12T14:00:00Z"}') == datetime(2025, 6, 12, 14, tzinfo=UTC).timestamp()
    assert event_time('{"id": "no time"}') is None
    assert event_time("not json") is None


async def test_latency_runs_from_the_triggering_event_to_the_receivers_ack(tmp_path) -> None:
    clock = Clock()
    d, registry = dispatcher(tmp_path, answer(503, 204), clock=clock)
    plain = alert_event()
    happened = datetime.fromtimestamp(clock.t - 42, tz=UTC)
    event = new_event(id=plain.id, source=plain.source, type=plain.type, data=plain.data, time=happened)
    (delivery,) = await d.accept([record(encode_structured(event))])
    first = await d.attempt(delivery)
    clock.t += 5  # the retry is due
    assert (await d.attempt(first)).status == "delivered"
    labels = {"receiver_kind": "webhook"}
    assert registry.get_sample_value("vendorwatch_alert_delivery_latency_seconds_count", labels) == 1
    assert registry.get_sample_value("vendorwatch_alert_delivery_latency_seconds_sum", labels) == 47
