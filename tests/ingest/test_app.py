"""POST /v1/events: status codes, problem documents with JSON pointers, and that refusals write nothing."""

from __future__ import annotations

import json
import logging

import pytest

from schemas.cloudevents import decode_structured
from schemas.registry import CONTRACT_SIGNED, ORG_DECLARED, OWNERSHIP_STATED
from tests.ingest.conftest import ALL_TOKEN, CONTRACTS_TOKEN, auth, seed_of
from vendorwatch.publisher import PublishError

SINGLE = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


async def post(client, body, *, token=ALL_TOKEN, headers=SINGLE):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/v1/events", data=data, headers={**headers, **(auth(token) if token else {})})


async def test_one_event_is_published_keyed_and_acknowledged(client, sink):
    event = seed_of(CONTRACT_SIGNED)
    response = await post(client, event)
    assert response.status == 202
    (accepted,) = (await response.json())["accepted"]
    assert accepted["id"] == event["id"] and accepted["source"] == event["source"]
    assert (accepted["topic"], accepted["key"]) == ("vendorwatch.contracts", event["data"]["vendor_id"])
    (record,) = sink.records
    assert record.key == event["data"]["vendor_id"].encode()
    assert decode_structured(record.value).to_json() == decode_structured(json.dumps(event)).to_json()


async def test_plain_json_content_type_is_one_event(client, sink):
    response = await post(client, seed_of(ORG_DECLARED), headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status == 202 and len(sink.records) == 1


async def test_a_batch_is_published_in_order(client, sink):
    events = [seed_of(ORG_DECLARED), seed_of(OWNERSHIP_STATED), seed_of(CONTRACT_SIGNED)]
    response = await post(client, events, headers=BATCH)
    assert response.status == 202
    assert [a["type"] for a in (await response.json())["accepted"]] == [e["type"] for e in events]
    assert [r.event.type for r in sink.records] == [e["type"] for e in events]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}])
async def test_no_token_is_401_with_a_challenge(client, sink, headers):
    response = await client.post("/v1/events", data=json.dumps(seed_of(ORG_DECLARED)), headers={**SINGLE, **headers})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == "application/problem+json"
    assert sink.records == []


async def test_unknown_token_is_401_invalid_token(client, sink):
    response = await post(client, seed_of(ORG_DECLARED), token="vwi_not-configured")
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert sink.records == []


async def test_a_type_the_token_may_not_publish_is_403_and_nothing_is_written(client, sink):
    allowed, forbidden = seed_of(CONTRACT_SIGNED), seed_of(OWNERSHIP_STATED)
    response = await post(client, [allowed, forbidden], token=CONTRACTS_TOKEN, headers=BATCH)
    assert response.status == 403
    body = await response.json()
    assert body["events"] == [{"index": 1, "type": OWNERSHIP_STATED}]
    assert "procurement" in body["detail"]
    assert sink.records == []
    assert (await post(client, allowed, token=CONTRACTS_TOKEN)).status == 202


async def test_alerts_cannot_be_forged_through_ingest(client, sink):
    forged = {**seed_of(CONTRACT_SIGNED), "type": "vendorwatch.alert.v1"}
    response = await post(client, forged)
    assert response.status == 422
    errors = (await response.json())["events"][0]["errors"]
    assert errors[0]["pointer"] == "/type" and errors[0]["code"] == "unknown_type"
    assert sink.records == []


async def test_invalid_data_is_422_with_json_pointers(client, sink):
    event = seed_of(CONTRACT_SIGNED)
    event["data"]["annual_value_usd"] = -5
    event["data"]["sensitivity"] = "secret"
    del event["data"]["lab_id"]
    response = await post(client, event)
    assert response.status == 422
    body = await response.json()
    assert body["status"] == 422 and "nothing was written" in body["title"]
    (rejected,) = body["events"]
    assert rejected["index"] == 0 and rejected["id"] == event["id"]
    by_pointer = {e["pointer"]: e for e in rejected["errors"]}
    assert set(by_pointer) == {"/data/annual_value_usd", "/data/sensitivity", "/data/lab_id"}
    assert by_pointer["/data/annual_value_usd"]["code"] == "greater_than_equal"
    assert "greater than or equal to 0" in by_pointer["/data/annual_value_usd"]["detail"]
    assert by_pointer["/data/lab_id"]["code"] == "missing"
    assert sink.records == []


async def test_nested_pointers_reach_into_lists(client):
    event = seed_of(OWNERSHIP_STATED)
    event["data"]["interests"][0]["share"] = {"exact": 49, "minimum": 10}
    response = await post(client, event)
    errors = (await response.json())["events"][0]["errors"]
    assert [e["pointer"] for e in errors] == ["/data/interests/0/share"]


async def test_envelope_problems_are_all_listed(client):
    event = {**seed_of(ORG_DECLARED), "specversion": "0.3", "time": "yesterday", "Bad_Ext": 1}
    del event["id"]
    errors = (await (await post(client, event)).json())["events"][0]["errors"]
    assert {e["pointer"] for e in errors} == {"/id", "/specversion", "/time", "/Bad_Ext"}


async def test_one_bad_event_in_a_batch_writes_nothing(client, sink):
    good, bad = seed_of(ORG_DECLARED), seed_of(CONTRACT_SIGNED)
    bad["data"]["annual_value_usd"] = "a lot"
    response = await post(client, [good, bad, good], headers=BATCH)
    assert response.status == 422
    body = await response.json()
    assert [e["index"] for e in body["events"]] == [1]
    assert body["detail"] == "1 of 3 events rejected"
    assert sink.records == []


async def test_a_body_over_the_limit_is_413(client, sink, limits):
    event = seed_of(ORG_DECLARED)
    event["data"]["aliases"] = ["x" * 1000] * (limits.max_body_bytes // 1000 + 1)
    response = await post(client, event)
    assert response.status == 413
    assert (await response.json())["type"].endswith("/too-large")
    assert sink.records == []


async def test_too_many_events_is_413(client, sink, limits):
    response = await post(client, [seed_of(ORG_DECLARED)] * (limits.max_batch + 1), headers=BATCH)
    assert response.status == 413 and sink.records == []


@pytest.mark.parametrize(("body", "headers"), [
    (b"{not json", SINGLE),
    (b'{"a": NaN}', SINGLE),
    (b"[]", BATCH),
    (b"{}", BATCH),
    (json.dumps([{"type": "x"}]).encode(), SINGLE),
])
async def test_malformed_bodies_are_400(client, sink, body, headers):
    response = await post(client, body, headers=headers)
    assert response.status == 400
    assert (await response.json())["detail"]
    assert sink.records == []


@pytest.mark.parametrize("headers", [
    {"Content-Type": "text/plain"},
    {**SINGLE, "ce-specversion": "1.0"},
])
async def test_unsupported_media_is_415(client, headers):
    assert (await post(client, seed_of(ORG_DECLARED), headers=headers)).status == 415


@pytest.mark.parametrize("failure", [PublishError("broker down"), None])
async def test_no_acknowledgement_is_503_and_says_resending_is_safe(client, sink, failure):
    if failure is None:
        sink.delay = 5.0  # longer than the 1 s publish timeout
    else:
        sink.fail = failure
    response = await post(client, seed_of(ORG_DECLARED))
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert "safe" in (await response.json())["detail"]


async def test_tokens_never_reach_the_log(client, caplog):
    caplog.set_level(logging.DEBUG)
    await post(client, seed_of(ORG_DECLARED))
    await post(client, seed_of(OWNERSHIP_STATED), token=CONTRACTS_TOKEN)
    await post(client, seed_of(ORG_DECLARED), token="vwi_unknown-secret")
    assert "everything" in caplog.text
    for token in (ALL_TOKEN, CONTRACTS_TOKEN, "vwi_unknown-secret"):
        assert token not in caplog.text


async def test_health_and_openapi_need_no_token(client):
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert (await client.get("/nowhere")).status == 404
    assert (await client.get("/v1/events")).status == 405
