"""Coalescing re-evaluation requests: one trigger per vendor, every cause kept as evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas import registry as names
from schemas.cloudevents import new_event
from schemas.events import OwnershipStated
from streams.requests import coalesce, encode_request
from tests.support.builders import shareholding, stated

TODAY = date(2026, 11, 25)


def cause(event_id: str, hour: int | None) -> object:
    data: OwnershipStated = stated("scale-ai", "meta", shareholding(49))
    at = datetime(2025, 6, 12, hour, tzinfo=UTC) if hour is not None else None
    return new_event(id=event_id, source="urn:test", type=names.OWNERSHIP_STATED, data=data, time=at)


def test_one_trigger_per_vendor_with_every_cause_in_order() -> None:
    requests = [encode_request("scale-ai", [cause("a", 14)]), encode_request("turing", [cause("b", 9)]),
                encode_request("scale-ai", [cause("c", 15)]), encode_request("scale-ai", [cause("a", 14)])]
    triggers = coalesce(requests, TODAY)
    assert sorted(triggers) == ["scale-ai", "turing"]
    scale = triggers["scale-ai"]
    assert [e.id for e in scale.evidence] == ["a", "c"], "a repeated cause is named once"
    assert scale.at == datetime(2025, 6, 12, 15, tzinfo=UTC), "the latest cause's time"
    assert scale.as_of == TODAY


def test_a_cause_without_time_does_not_hide_one_with_time() -> None:
    triggers = coalesce([encode_request("scale-ai", [cause("a", None)]), encode_request("scale-ai", [cause("b", 9)]),
                         encode_request("scale-ai", [cause("c", None)])], TODAY)
    assert triggers["scale-ai"].at == datetime(2025, 6, 12, 9, tzinfo=UTC)


def test_one_request_names_every_cause_of_a_batch() -> None:
    [trigger] = coalesce([encode_request("scale-ai", [cause("a", 14), cause("b", 15)])], TODAY).values()
    assert [e.id for e in trigger.evidence] == ["a", "b"]
    assert trigger.at == datetime(2025, 6, 12, 15, tzinfo=UTC)
