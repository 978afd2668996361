"""The CloudEvents codec (``schemas.cloudevents``): both input modes, every reject, round trips, keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.v1.http import CloudEvent as SdkEvent
from cloudevents.v1.kafka import to_binary
from pydantic import BaseModel

from schemas import registry as names
from schemas.alert import Alert
from schemas.cloudevents import decode_record, decode_structured, encode_structured, new_event
from schemas.errors import InvalidEvent, InvalidEventData, NotACloudEvent, UnknownEventType
from schemas.events import (
    CompetitorsDeclared,
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    DataShared,
    OrgDeclared,
    OwnershipStated,
)
from schemas.registry import SPECS
from tests.support.fold import story_events, story_files

SIGNED = {"contract_id": "google-scale-2024", "lab_id": "google", "vendor_id": "scale-ai",
          "annual_value_usd": 200_000_000, "sensitivity": "restricted", "start_date": "2024-02-01"}
STAKE = {"subject_id": "scale-ai", "interested_party_id": "meta", "status": "completed",
         "interests": [{"type": "shareholding", "share": {"exact": 49}}]}
ALERT = {"alert_id": "vwa_0123", "sequence": 1, "status": "firing", "transition": "opened", "severity": "high",
         "lab_id": "google", "vendor_id": "scale-ai", "competitor_id": "meta", "influence": {}, "exposure": {},
         "summary": "meta now reaches scale-ai."}

# (type, data, model, key): one valid event of every type; ``key`` is the field EVENTS.md names for its topic.
VALID = [
    pytest.param(names.ORG_DECLARED, {"org_id": "google", "name": "Google", "kind": "lab", "parent_id": "alphabet"},
                 OrgDeclared, "google", id="org-declared"),
    pytest.param(names.COMPETITORS_DECLARED, {"lab_id": "google", "competitors": ["meta", "openai"]},
                 CompetitorsDeclared, "google", id="competitors-declared"),
    pytest.param(names.OWNERSHIP_STATED, STAKE, OwnershipStated, "scale-ai", id="ownership-stated"),
    pytest.param(names.CONTRACT_SIGNED, SIGNED, ContractSigned, "scale-ai", id="contract-signed"),
    pytest.param(names.CONTRACT_AMENDED, {"contract_id": "c-1", "lab_id": "google", "vendor_id": "turing",
                                          "annual_value_usd": 5}, ContractAmended, "turing", id="contract-amended"),
    pytest.param(names.CONTRACT_TERMINATED, {"contract_id": "c-1", "lab_id": "google", "vendor_id": "turing"},
                 ContractTerminated, "turing", id="contract-terminated"),
    pytest.param(names.DATA_SHARED, {"lab_id": "google", "vendor_id": "labelbox", "contract_id": "c-1",
                                     "records": 10, "bytes": 2048, "data_class": "training_data",
                                     "sensitivity": "confidential"}, DataShared, "labelbox", id="data-shared"),
    pytest.param(names.ALERT, ALERT, Alert, "google", id="alert"),
]


def envelope(event_type: str = names.CONTRACT_SIGNED, data: Any = None, **attributes: Any) -> dict[str, Any]:
    out = {"specversion": "1.0", "id": "evt-1", "source": "urn:test", "type": event_type,
           "time": "2025-06-12T14:00:00Z", "datacontenttype": "application/json",
           "data": SIGNED if data is None else data}
    out.update(attributes)
    return out


def structured(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def binary(event_type: str, data: Any, **attributes: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A binary-mode record built by the CloudEvents SDK: ``ce_*`` headers, ``data`` as the value."""
    attrs = {"specversion": "1.0", "id": "evt-1", "source": "urn:test", "type": event_type,
             "time": "2025-06-12T14:00:00Z", "datacontenttype": "application/json", **attributes}
    message = to_binary(SdkEvent(attrs, data))
    assert isinstance(message.value, bytes)
    return message.value, list(message.headers.items())


# --- valid input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event_type", "data", "model", "key"), VALID)
def test_structured_mode_decodes_to_the_model(event_type: str, data: dict, model: type[BaseModel], key: str) -> None:
    event = decode_record(structured(envelope(event_type, data)), [("content-type", b"application/cloudevents+json")])
    assert isinstance(event.data, model)
    assert (event.id, event.source, event.type) == ("evt-1", "urn:test", event_type)
    assert event.time == datetime(2025, 6, 12, 14, tzinfo=UTC)
    assert event.key == key


@pytest.mark.parametrize(("event_type", "data", "model", "key"), VALID)
def test_binary_mode_decodes_to_the_same_event(event_type: str, data: dict, model: type[BaseModel], key: str) -> None:
    value, headers = binary(event_type, data)
    assert any(name == "ce_specversion" for name, _ in headers)
    event = decode_record(value, headers)
    assert isinstance(event.data, model)
    assert event == decode_structured(structured(envelope(event_type, data)))


def test_binary_mode_by_hand_with_mixed_case_headers_and_extensions() -> None:
    headers = [("ce_specversion", b"1.0"), ("CE_ID", b"seed-029"), ("ce_source", b"urn:seed"),
               ("ce_type", names.OWNERSHIP_STATED.encode()), ("ce_subject", b"scale-ai"),
               ("ce_traceparent1", b"abc"), ("content-type", b"application/json")]
    event = decode_record(json.dumps(STAKE).encode(), headers)
    assert isinstance(event.data, OwnershipStated)
    assert (event.id, event.subject, event.time) == ("seed-029", "scale-ai", None)
    assert event.extensions == {"traceparent1": "abc"}


@pytest.mark.parametrize("attribute", ["id", "source", "type"])
def test_binary_mode_without_a_required_header_is_rejected(attribute: str) -> None:
    # The SDK would invent a random id; then a redelivered record could never be recognised as a duplicate.
    value, headers = binary(names.CONTRACT_SIGNED, SIGNED)
    with pytest.raises(NotACloudEvent) as caught:
        decode_record(value, [(k, v) for k, v in headers if k != f"ce_{attribute}"])
    assert f"'{attribute}'" in caught.value.reason


def test_binary_mode_without_time_has_no_time() -> None:
    value, headers = binary(names.CONTRACT_SIGNED, SIGNED)
    event = decode_record(value, [(k, v) for k, v in headers if k != "ce_time"])
    assert event.time is None


@pytest.mark.parametrize(
    ("value", "headers", "error", "fragment"),
    [
        pytest.param(b"{not json", [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"s"),
                                    ("ce_type", names.CONTRACT_SIGNED.encode())], NotACloudEvent, "binary",
                     id="binary-data-not-json"),
        pytest.param(json.dumps(SIGNED).encode(), [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"s"),
                                                   ("ce_type", names.CONTRACT_SIGNED.encode()),
                                                   ("content-type", b"text/plain")],
                     NotACloudEvent, "datacontenttype", id="binary-not-json-content-type"),
        pytest.param(None, [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"s"),
                            ("ce_type", names.CONTRACT_SIGNED.encode())], InvalidEventData, "data",
                     id="binary-no-value"),
        pytest.param(json.dumps(SIGNED).encode(), [("ce_specversion", b"0.3"), ("ce_id", b"x"), ("ce_source", b"s"),
                                                   ("ce_type", names.CONTRACT_SIGNED.encode())],
                     NotACloudEvent, "specversion", id="binary-wrong-specversion"),
    ],
)
def test_binary_rejects(value: bytes | None, headers, error: type[InvalidEvent], fragment: str) -> None:
    with pytest.raises(error) as caught:
        decode_record(value, headers)
    assert fragment in caught.value.reason


# --- rejects -------------------------------------------------------------------------------------------


def with_data(**changes: Any) -> bytes:
    return structured(envelope(data={**SIGNED, **changes}))


def stake(**changes: Any) -> bytes:
    return structured(envelope(names.OWNERSHIP_STATED, {**STAKE, **changes}))


def without(name: str) -> bytes:
    obj = envelope()
    del obj[name]
    return structured(obj)


REJECTS = [
    pytest.param(b"", NotACloudEvent, "empty", id="empty"),
    pytest.param(b"{not json", NotACloudEvent, "not JSON", id="not-json"),
    pytest.param(b"\xff\xfe", NotACloudEvent, "not JSON", id="not-utf8"),
    pytest.param(b"[1, 2]", NotACloudEvent, "got list", id="json-array"),
    pytest.param(b'"event"', NotACloudEvent, "got str", id="json-string"),
    pytest.param(without("id"), NotACloudEvent, "'id'", id="missing-id"),
    pytest.param(without("source"), NotACloudEvent, "'source'", id="missing-source"),
    pytest.param(without("type"), NotACloudEvent, "'type'", id="missing-type"),
    pytest.param(without("specversion"), NotACloudEvent, "'specversion'", id="missing-specversion"),
    pytest.param(structured(envelope(id="")), NotACloudEvent, "'id'", id="empty-id"),
    pytest.param(structured(envelope(id=7)), NotACloudEvent, "'id'", id="numeric-id"),
    pytest.param(structured(envelope(specversion="0.3")), NotACloudEvent, "specversion must be '1.0'",
                 id="wrong-specversion"),
    pytest.param(structured(envelope("vendorwatch.contract.cancelled.v1")), UnknownEventType,
                 "vendorwatch.contract.cancelled.v1", id="unknown-type"),
    pytest.param(structured(envelope(datacontenttype="application/xml")), NotACloudEvent, "datacontenttype",
                 id="not-json-content"),
    pytest.param(without("data"), InvalidEventData, "'data'", id="missing-data"),
    pytest.param(structured(envelope(data=[SIGNED])), InvalidEventData, "data must be a JSON object",
                 id="data-not-object"),
    pytest.param(structured(envelope(time="yesterday")), NotACloudEvent, "'time'", id="time-not-rfc3339"),
    pytest.param(structured(envelope(time="2025-06-12T14:00:00")), NotACloudEvent, "'time'",
                 id="time-without-offset"),
    pytest.param(structured(envelope(time=1718200800)), NotACloudEvent, "'time'", id="time-not-string"),
    pytest.param(structured(envelope(subject=5)), NotACloudEvent, "'subject'", id="subject-not-string"),
    pytest.param(structured(envelope(**{"Bad-Name": "x"})), NotACloudEvent, "Bad-Name", id="bad-extension-name"),
    pytest.param(structured(envelope(trace={"a": 1})), NotACloudEvent, "'trace'", id="extension-not-scalar"),
    pytest.param(with_data(annual_value_usd="lots"), InvalidEventData, "data.annual_value_usd",
                 id="number-is-text"),
    pytest.param(with_data(annual_value_usd="200"), InvalidEventData, "data.annual_value_usd",
                 id="number-as-string"),
    pytest.param(with_data(annual_value_usd=True), InvalidEventData, "data.annual_value_usd",
                 id="number-as-bool"),
    pytest.param(with_data(annual_value_usd=-1), InvalidEventData, "data.annual_value_usd", id="negative-value"),
    pytest.param(with_data(lab_id=5), InvalidEventData, "data.lab_id", id="id-not-string"),
    pytest.param(with_data(data_classes="training_data"), InvalidEventData, "data.data_classes",
                 id="list-is-string"),
    pytest.param(with_data(sensitivity="secret"), InvalidEventData, "data.sensitivity", id="unknown-enum"),
    pytest.param(with_data(start_date="2024-13-01"), InvalidEventData, "data.start_date", id="bad-date"),
    pytest.param(structured(envelope(data={k: v for k, v in SIGNED.items() if k != "annual_value_usd"})),
                 InvalidEventData, "data.annual_value_usd", id="missing-required-field"),
    pytest.param(with_data(anual_value_usd=1), InvalidEventData, "data.anual_value_usd", id="extra-unknown-field"),
    pytest.param(with_data(vendor_id="Scale AI"), InvalidEventData, "data.vendor_id", id="id-not-a-slug"),
    pytest.param(with_data(vendor_id="x" * 129), InvalidEventData, "data.vendor_id", id="id-too-long"),
    pytest.param(stake(interests=[{"type": "shareholding", "share": {"minimum": 30, "maximum": 20}}]),
                 InvalidEventData, "data.interests.0.share", id="share-range-min-above-max"),
    pytest.param(stake(interests=[{"type": "shareholding", "share": {"exact": 101}}]), InvalidEventData,
                 "data.interests.0.share.exact", id="share-above-100"),
    pytest.param(stake(interests=[{"type": "shareholding", "share": {"exact": 10, "minimum": 5}}]),
                 InvalidEventData, "data.interests.0.share", id="share-exact-and-range"),
    pytest.param(stake(interests=[{"type": "shareholding"}]), InvalidEventData, "data.interests.0",
                 id="shareholding-without-share"),
    pytest.param(stake(interests=[]), InvalidEventData, "interests are required", id="ownership-without-interests"),
    pytest.param(stake(interested_party_id="scale-ai"), InvalidEventData, "interested_party_id",
                 id="owns-itself"),
    pytest.param(structured(envelope(names.ORG_DECLARED, {"org_id": "meta", "name": "Meta", "kind": "lab",
                                                           "parent_id": "meta"})),
                 InvalidEventData, "parent_id", id="own-parent"),
]


@pytest.mark.parametrize(("value", "error", "fragment"), REJECTS)
def test_rejects(value: bytes, error: type[InvalidEvent], fragment: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_structured(value)
    assert type(caught.value) is error
    assert fragment in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_reason_shows_what_was_sent() -> None:
    with pytest.raises(InvalidEventData) as caught:
        decode_structured(with_data(annual_value_usd="lots"))
    assert caught.value.reason.startswith("data.annual_value_usd: ")
    assert '(got "lots")' in caught.value.reason
    assert caught.value.event_type == names.CONTRACT_SIGNED
    assert caught.value.kind == "data"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidEventData) as caught:
        decode_structured(with_data(lab_id="Google", annual_value_usd=-5))
    assert "data.lab_id" in caught.value.reason and "data.annual_value_usd" in caught.value.reason


@pytest.mark.parametrize(
    ("error", "kind"),
    [(NotACloudEvent("x"), "envelope"), (UnknownEventType("x"), "unknown_type"), (InvalidEventData("x"), "data")],
    ids=["envelope", "unknown-type", "data"],
)
def test_error_kinds_label_metrics(error: InvalidEvent, kind: str) -> None:
    assert error.kind == kind


def test_unknown_type_names_the_type() -> None:
    with pytest.raises(UnknownEventType) as caught:
        decode_structured(structured(envelope("com.example.other")))
    assert caught.value.event_type == "com.example.other"


def test_ownership_closed_needs_no_interests() -> None:
    event = decode_structured(stake(status="closed", interests=[]))
    assert isinstance(event.data, OwnershipStated) and event.data.interests == ()


# --- round trips and keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(("event_type", "data", "model", "key"), VALID)
def test_round_trip(event_type: str, data: dict, model: type[BaseModel], key: str) -> None:
    original = decode_structured(structured(envelope(event_type, data, subject="s-1", tenant="acme")))
    encoded = encode_structured(original)
    again = decode_structured(encoded)
    assert again == original
    assert again.extensions == {"tenant": "acme"}
    assert encode_structured(again) == encoded


@pytest.mark.parametrize("path", story_files(), ids=lambda p: p.name)
def test_seed_story_round_trips(path) -> None:
    for event in story_events(path):
        assert decode_structured(encode_structured(event)) == event


def test_encoded_time_is_utc_rfc3339() -> None:
    event = decode_structured(structured(envelope(time="2025-06-12T16:00:00+02:00")))
    assert json.loads(encode_structured(event))["time"] == "2025-06-12T14:00:00Z"


def test_keys_are_the_fields_events_md_names() -> None:
    assert {t: spec.key_field for t, spec in SPECS.items()} == {
        names.ORG_DECLARED: "org_id",
        names.COMPETITORS_DECLARED: "lab_id",
        names.OWNERSHIP_STATED: "subject_id",
        names.CONTRACT_SIGNED: "vendor_id",
        names.CONTRACT_AMENDED: "vendor_id",
        names.CONTRACT_TERMINATED: "vendor_id",
        names.DATA_SHARED: "vendor_id",
        names.ALERT: "lab_id",
    }


def test_duplicates_share_an_identity() -> None:
    a = decode_structured(structured(envelope()))
    b = decode_structured(structured(envelope(time="2030-01-01T00:00:00Z")))
    c = decode_structured(structured(envelope(source="urn:other")))
    assert a.identity == b.identity != c.identity


def test_new_event_refuses_data_of_another_type() -> None:
    data = decode_structured(structured(envelope())).data
    with pytest.raises(InvalidEvent):
        new_event(id="x", source="urn:test", data=data, type=names.ORG_DECLARED)
    event = new_event(id="x", source="urn:test", data=data, type=names.CONTRACT_SIGNED)
    assert decode_structured(encode_structured(event)) == event
