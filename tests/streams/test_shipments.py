"""Shipment totals in batches and the duplicate verdicts of the high-volume path (pure)."""

from __future__ import annotations

from functools import reduce
from types import SimpleNamespace

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.cloudevents import event_identity
from schemas.events import DataShared
from streams.seen import (
    CHUNK_MAX_BYTES,
    Verdict,
    _judge_each,
    chunk_key,
    claim_identities,
    index_chunk,
    judge,
    judge_record,
    position,
    unclaim,
)
from streams.shipment_batches import _Marks
from streams.shipments import APPLIED, add_shipment, add_shipments, applied_offset, lab_totals, record_applied


def shipped(lab: str, records: int, data_class: str = "training_data") -> DataShared:
    return DataShared(lab_id=lab, vendor_id="scale-ai", contract_id="c-1", records=records, bytes=records * 10,
                      data_class=data_class, sensitivity="restricted")


SHIPMENTS = [shipped("google", 5), shipped("openai", 7, "roadmap"), shipped("google", 1, "prototypes")]


def test_a_batch_adds_up_to_the_same_totals_as_one_shipment_at_a_time():
    start = {"google": {"shipments": 2, "records": 3, "bytes": 30, "data_classes": ["evaluation_data"]}}
    one_by_one = reduce(add_shipment, SHIPMENTS, start)
    assert add_shipments(start, SHIPMENTS) == one_by_one
    assert one_by_one["google"] == {"shipments": 4, "records": 9, "bytes": 90,
                                    "data_classes": ["evaluation_data", "prototypes", "training_data"]}
    assert start["google"]["shipments"] == 2  # the table's value is not changed in place


def test_the_applied_offsets_travel_with_the_totals_and_only_move_forward():
    totals = record_applied(add_shipments(None, SHIPMENTS), {3: 120, 5: 7})
    assert applied_offset(totals, 3) == 120 and applied_offset(totals, 5) == 7 and applied_offset(totals, 0) == -1
    later = record_applied(add_shipments(totals, [shipped("xai", 1)]), {3: 90, 5: 8})
    assert later[APPLIED] == {"3": 120, "5": 8}
    assert set(lab_totals(later)) == {"google", "openai", "xai"}
    assert applied_offset(None, 1) == -1


AT = position(3, 120)


@pytest.mark.parametrize(("seen", "counted", "batch", "verdict"), [
    pytest.param({}, False, set(), Verdict.APPLY, id="new"),
    pytest.param({"e": position(3, 99)}, False, set(), Verdict.DUPLICATE, id="seen elsewhere"),
    pytest.param({"e": position(4, 120)}, False, set(), Verdict.DUPLICATE, id="same offset, other partition"),
    pytest.param({}, False, {"e"}, Verdict.DUPLICATE, id="twice in one batch"),
    pytest.param({"e": AT}, True, set(), Verdict.REPLAY, id="its own record again, counted"),
    pytest.param({"e": AT}, False, set(), Verdict.APPLY, id="its own record again, totals lost"),
    pytest.param({}, True, set(), Verdict.REPLAY, id="counted, its seen chunk lost"),
])
def test_judge(seen, counted, batch, verdict):
    assert judge("e", AT, seen, counted, batch) is verdict


def test_positions_and_chunk_keys_keep_partition_and_offset_apart():
    assert position(1, 0) != position(0, 1) and position(0, 2**39) != position(1, 0)
    assert chunk_key("vendorwatch.data-shares", 3, 120) == "vendorwatch.data-shares/3/120"


def test_the_index_of_a_chunk_holds_each_identity_at_its_records_position_in_either_form():
    def indexed(chunk: dict) -> dict[str, int]:
        shards: dict[int, dict[str, int]] = {}
        index_chunk(shards, "vendorwatch.data-shares/3/120", chunk)
        assert list(shards) == [3], "in its partition's shard"
        return shards[3]

    compact = {"120": {"urn:a": ["e1", "e2"], "urn:b": ["e1"]}, "121": {"urn:a": ["e3"]}}
    assert indexed(compact) == {
        event_identity("urn:a", "e1"): position(3, 120), event_identity("urn:a", "e2"): position(3, 120),
        event_identity("urn:a", "e3"): position(3, 121), event_identity("urn:b", "e1"): position(3, 120)}
    first_form = {event_identity("urn:a", "e1"): 7}
    assert indexed(first_form) == {event_identity("urn:a", "e1"): position(3, 7)}


def test_seen_chunks_cover_whole_records_and_stay_under_the_size_limit():
    def record(partition: int, offset: int, size: int) -> SimpleNamespace:
        return SimpleNamespace(message=SimpleNamespace(partition=partition, offset=offset, value=b"x" * size))

    marks = _Marks()
    big = CHUNK_MAX_BYTES // 3
    for offset in range(7):
        marks.add(record(0, offset, big), {"urn:a": [f"e{offset}"]}, [event_identity("urn:a", f"e{offset}")])
    marks.add(record(1, 50, 10), {"urn:a": ["f"]}, [event_identity("urn:a", "f")])
    assert [(c.first.message.partition, sorted(c.value)) for c in marks.chunks] == [
        (0, ["0", "1", "2"]), (0, ["3", "4", "5"]), (0, ["6"]), (1, ["50"])]
    assert all(c.size <= CHUNK_MAX_BYTES for c in marks.chunks)
    # What the index learns when a chunk is written: each record's identities at its own position.
    assert marks.chunks[1].indexed == [(position(0, o), [event_identity("urn:a", f"e{o}")]) for o in (3, 4, 5)]
    assert marks.chunks[3].indexed == [(position(1, 50), [event_identity("urn:a", "f")])]


_names = st.sampled_from(["a", "b", "c", "d"])
_items = st.lists(st.builds(lambda source, id_, n: SimpleNamespace(source=f"urn:{source}", id=id_, data=n),
                            st.sampled_from(["x", "y"]), _names, st.integers()), max_size=6)


@given(items=_items, seen=st.dictionaries(st.builds(event_identity, st.sampled_from(["urn:x", "urn:y"]), _names),
                                          st.sampled_from([AT, position(3, 7)])),
       counted=st.booleans(), batch=st.sets(st.builds(event_identity, st.sampled_from(["urn:x", "urn:y"]), _names)))
def test_judging_a_record_at_once_agrees_with_judging_each_event(items, seen, counted, batch):
    expected_batch = set(batch)
    expected = _judge_each(items, AT, seen, counted, expected_batch)  # the reference: judge, event by event
    assert judge_record(items, AT, seen, counted, batch) == expected
    assert batch == expected_batch


@given(ids=st.lists(_names, min_size=1, max_size=4, unique=True), source=st.sampled_from(["urn:x", "urn:y"]),
       seen=st.dictionaries(st.builds(event_identity, st.sampled_from(["urn:x", "urn:y"]), _names),
                            st.sampled_from([AT, position(3, 7)])),
       batch=st.sets(st.builds(event_identity, st.sampled_from(["urn:x", "urn:y"]), _names)))
def test_claiming_a_digested_record_agrees_with_judging_each_event(ids, source, seen, batch):
    # A digest (streams.digest) has one source and no id twice.
    identities = [event_identity(source, id_) for id_ in ids]
    items = [SimpleNamespace(source=source, id=id_, data=id_) for id_ in ids]
    reference = _judge_each(items, AT, dict(seen), False, set(batch))
    before = dict(seen)
    if claim_identities(identities, AT, seen, batch):
        assert reference.fresh == ids and reference.duplicates == 0, "claimed only when every event is new"
        assert seen == {**before, **dict.fromkeys(identities, AT)}
        unclaim(identities, AT, seen)
        assert seen == before, "taken back when the record is not applied"
    else:
        assert seen == before, "nothing indexed when the record is judged event by event"
        assert reference.fresh != ids or any(i in before for i in identities)


def test_a_record_claimed_in_the_index_is_not_indexed_again_when_its_chunk_is_written():
    marks = _Marks()
    message = SimpleNamespace(partition=0, offset=4, value=b"x")
    marks.add(SimpleNamespace(message=message), msgspec.Raw(b'{"urn:a":["e4"]}'), None)  # a digest's mark
    marks.add(SimpleNamespace(message=SimpleNamespace(partition=0, offset=5, value=b"x")), {"urn:a": ["e5"]},
              [event_identity("urn:a", "e5")])
    (chunk,) = marks.chunks
    assert sorted(chunk.value) == ["4", "5"] and chunk.indexed == [(position(0, 5), [event_identity("urn:a", "e5")])]
    # A mark that came encoded is stored as if it had been built here.
    assert msgspec.json.decode(msgspec.json.encode(chunk.value)) == {"4": {"urn:a": ["e4"]}, "5": {"urn:a": ["e5"]}}
