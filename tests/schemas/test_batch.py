"""Batch records and the fast path (``schemas.batch``): they accept exactly what the reference codec accepts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import registry as names
from schemas.batch import BATCH_CONTENT_TYPE, FastEnvelope, Rejected, decode_many
from schemas.cloudevents import CloudEvent, decode_record, event_identity
from schemas.errors import InvalidEvent, NotACloudEvent
from schemas.shipment_codec import FastShipment

BATCH = [("content-type", BATCH_CONTENT_TYPE.encode())]
DATA = {"lab_id": "google", "vendor_id": "scale-ai", "contract_id": "c-1", "records": 10, "bytes": 2048,
        "data_class": "training_data", "sensitivity": "restricted"}


def shipment(n: int, **overrides) -> dict:
    event = {"specversion": "1.0", "id": f"ship-{n}", "source": "urn:test:batch", "type": names.DATA_SHARED,
             "time": "2025-06-12T10:00:00Z", "datacontenttype": "application/json", "data": dict(DATA)}
    event.update(overrides)
    return event


def same_event(got, want: CloudEvent) -> None:
    full = got.event() if isinstance(got, FastEnvelope | FastShipment) else got
    assert (full.id, full.source, full.type, full.data, full.time, full.subject) == (
        want.id, want.source, want.type, want.data, want.time, want.subject)
    assert event_identity(got.source, got.id) == want.identity and got.key == want.key


def test_a_batch_record_decodes_every_event_in_order():
    events = [shipment(n) for n in range(3)]
    decoded = decode_many(json.dumps(events).encode(), BATCH, names.DATA_SHARED)
    assert [d.id for d in decoded] == ["ship-0", "ship-1", "ship-2"]
    for got, event in zip(decoded, events, strict=True):
        same_event(got, decode_record(json.dumps(event).encode()))


def test_an_invalid_event_is_rejected_alone_with_its_index_and_reason():
    events = [shipment(0), shipment(1, data={**DATA, "records": "many"}), 7, shipment(3, ext1="x")]
    decoded = decode_many(json.dumps(events).encode(), BATCH, names.DATA_SHARED)
    assert isinstance(decoded[0], FastShipment | CloudEvent) and decoded[0].id == "ship-0"
    assert isinstance(decoded[1], Rejected) and decoded[1].index == 1
    assert decoded[1].error.reason == 'data.records: Input should be a valid integer (got "many")'
    assert json.loads(decoded[1].raw) == events[1]
    assert isinstance(decoded[2], Rejected) and decoded[2].index == 2 and decoded[2].error.kind == "envelope"
    # An extension attribute is valid: the reference codec takes what the fast path leaves.
    assert isinstance(decoded[3], CloudEvent) and decoded[3].extensions == {"ext1": "x"}


@pytest.mark.parametrize("value", [b"", b"not json", b"{}", b"[]", b'"a"'])
def test_a_batch_record_that_is_not_a_non_empty_array_is_rejected_whole(value):
    with pytest.raises(NotACloudEvent):
        decode_many(value, BATCH, names.DATA_SHARED)


def test_an_array_without_the_batch_content_type_stays_invalid():
    decoded = decode_many(json.dumps([shipment(0)]).encode(), [], names.DATA_SHARED)
    assert isinstance(decoded[0], Rejected) and decoded[0].index is None


def test_single_records_take_the_fast_path_and_other_types_the_reference_codec():
    fast = decode_many(json.dumps(shipment(0)).encode(), [], names.DATA_SHARED)[0]
    assert isinstance(fast, FastShipment)
    contract = {"specversion": "1.0", "id": "c", "source": "urn:t", "type": names.CONTRACT_SIGNED,
                "data": {"contract_id": "c", "lab_id": "google", "vendor_id": "scale-ai", "annual_value_usd": 1}}
    slow = decode_many(json.dumps(contract).encode(), [], names.DATA_SHARED)[0]
    assert isinstance(slow, CloudEvent) and slow.type == names.CONTRACT_SIGNED


MUTATIONS = st.one_of(
    st.fixed_dictionaries({"id": st.sampled_from(["", "x", 5, None])}),
    st.fixed_dictionaries({"specversion": st.sampled_from(["1.0", "0.3", 1.0])}),
    st.fixed_dictionaries({"time": st.sampled_from(["2025-06-12T10:00:00Z", "2025-06-12T10:00:00", "yesterday",
                                                    None, 3])}),
    st.fixed_dictionaries({"datacontenttype": st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                               "text/plain", None])}),
    st.fixed_dictionaries({"subject": st.sampled_from(["s", 4, None])}),
    st.fixed_dictionaries({"source": st.sampled_from(["", "urn:x", "\ud800", "caf\u00e9", 7])}),
    st.fixed_dictionaries({"dataschema": st.sampled_from(["https://example.com/s", "", None, 1])}),
    st.fixed_dictionaries({"extension1": st.sampled_from(["x", 1])}),
    st.fixed_dictionaries({"data": st.fixed_dictionaries({
        "records": st.sampled_from([0, -1, 1.5, 2.0, "3", True, 10**12, 2**63, 2**64, -(2**63) - 1]),
        "vendor_id": st.sampled_from(["scale-ai", "Scale AI", "", "a" * 129, "a" * 128, "scale-ai\n", "sc\u00e9"]),
        "lab_id": st.sampled_from(["google", "-google", "g.o_o-g", None]),
        "sensitivity": st.sampled_from(["restricted", "secret", "Restricted", None]),
        "data_class": st.sampled_from(["x", "", "y" * 1000, "y" * 1001, "\u00e9" * 1000]),
    }), "extra": st.sampled_from([{}, {"unknown": 1}])}),
)


@settings(max_examples=300, derandomize=True)
@given(st.lists(MUTATIONS, min_size=1, max_size=4))
def test_the_fast_path_and_the_reference_codec_agree(mutations):
    events = []
    for n, change in enumerate(mutations):
        event = shipment(n)
        if "data" in change:
            event["data"] = {**DATA, **change["data"], **change["extra"]}
        else:
            event.update(change)
        events.append(event)
    for got, event in zip(decode_many(json.dumps(events).encode(), BATCH, names.DATA_SHARED), events, strict=True):
        try:
            want = decode_record(json.dumps(event).encode())
        except InvalidEvent as error:
            assert isinstance(got, Rejected) and got.error.reason == error.reason
        else:
            same_event(got, want)
        single = decode_many(json.dumps(event).encode(), [], names.DATA_SHARED)[0]
        assert isinstance(single, Rejected) == isinstance(got, Rejected)
