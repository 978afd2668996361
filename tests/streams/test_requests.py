"""Coalescing re-evaluation requests: one trigger per vendor, every cause kept as evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas import registry as names
from schemas.cloudevents import new_event
from schemas.events import OwnershipStated
from streams.requests import (
    WorldChange,
    change_of,
    coalesce,
    decode,
    encode_evidence,
    encode_request,
    encode_world_request,
    reads_needed,
)
from tests.support.builders import shareholding, stated

TODAY = date(2026, 11, 25)


def NOWHERE(change: WorldChange, partition: int) -> set[str]:
    raise AssertionError("no world request here")


def cause(event_id: str, hour: int | None) -> object:
    data: OwnershipStated = stated("scale-ai", "meta", shareholding(49))
    at = datetime(2025, 6, 12, hour, tzinfo=UTC) if hour is not None else None
    return new_event(id=event_id, source="urn:test", type=names.OWNERSHIP_STATED, data=data, time=at)


def test_one_trigger_per_vendor_with_every_cause_in_order() -> None:
    requests = [encode_request("scale-ai", [cause("a", 14)]), encode_request("turing", [cause("b", 9)]),
                encode_request("scale-ai", [cause("c", 15)]), encode_request("scale-ai", [cause("a", 14)])]
    triggers = coalesce(decode(requests), TODAY, NOWHERE)
    assert sorted(triggers) == ["scale-ai", "turing"]
    scale = triggers["scale-ai"]
    assert [e.id for e in scale.evidence] == ["a", "c"], "a repeated cause is named once"
    assert scale.at == datetime(2025, 6, 12, 15, tzinfo=UTC), "the latest cause's time"
    assert scale.as_of == TODAY


def test_a_cause_without_time_does_not_hide_one_with_time() -> None:
    requests = [encode_request("scale-ai", [cause("a", None)]), encode_request("scale-ai", [cause("b", 9)]),
                encode_request("scale-ai", [cause("c", None)])]
    triggers = coalesce(decode(requests), TODAY, NOWHERE)
    assert triggers["scale-ai"].at == datetime(2025, 6, 12, 9, tzinfo=UTC)


def test_one_request_names_every_cause_of_a_batch() -> None:
    requests = [encode_request("scale-ai", [cause("a", 14), cause("b", 15)])]
    [trigger] = coalesce(decode(requests), TODAY, NOWHERE).values()
    assert [e.id for e in trigger.evidence] == ["a", "b"]
    assert trigger.at == datetime(2025, 6, 12, 15, tzinfo=UTC)


def test_a_world_request_reaches_the_vendors_of_its_partition_with_its_cause() -> None:
    meta = change_of(cause("a", 14), "ownership", "holdco", "meta")
    pat = change_of(cause("b", 15), "ownership", "scale-ai", "pat")
    reached = {("holdco", 0): {"scale-ai", "turing"}, ("holdco", 1): {"labelbox"}, ("scale-ai", 0): {"scale-ai"}}
    asked = []

    def reach(change: WorldChange, partition: int) -> set[str]:
        asked.append((change.key, change.party, partition))
        return reached.get((change.key, partition), set())

    requests = [encode_world_request([meta, pat], 0, {"ownership": 7}, "worker-a"),
                encode_request("turing", [cause("c", 9)])]
    triggers = coalesce(decode(requests), TODAY, reach)
    assert asked == [("holdco", "meta", 0), ("scale-ai", "pat", 0)], "the partition the request was sent to"
    assert [e.id for e in triggers["scale-ai"].evidence] == ["a", "b"]
    assert [e.id for e in triggers["turing"].evidence] == ["a", "c"]
    assert triggers["scale-ai"].at == datetime(2025, 6, 12, 15, tzinfo=UTC)
    assert "labelbox" not in triggers, "partition 1's evaluator reaches it, with its own request"


def test_an_evaluator_reads_what_other_workers_wrote_and_not_its_own() -> None:
    change = change_of(cause("a", 14), "ownership", "holdco", "meta")
    requests = [encode_world_request([change], 0, {"ownership": 7, "orgs": 3}, "worker-a"),
                encode_world_request([change], 0, {"ownership": 9}, "worker-a"),
                encode_world_request([change], 3, {"ownership": 40, "competitors": 2}, "worker-b"),
                encode_request("turing", [cause("d", 9)]),  # a contract's: its table is the vendor's partition's
                encode_evidence("turing", [], None)]  # the clock's: it wrote nothing
    assert reads_needed(decode(requests), "worker-b") == {"ownership": 9, "orgs": 3}
    assert reads_needed(decode(requests), "worker-a") == {"ownership": 40, "competitors": 2}
    assert reads_needed(decode(requests), "worker-c") == {"ownership": 40, "orgs": 3, "competitors": 2}
