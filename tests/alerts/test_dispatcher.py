"""The dispatcher's per-record decisions without Kafka: a fake producer, a real HTTP sink."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from prometheus_client import CollectorRegistry

from alerts.dispatcher import (
    TOPIC_ALERTS_DEADLETTER,
    Dispatcher,
    Record,
    alert_deadletter_headers,
    run_dispatcher,
    webhook_body,
)
from schemas import Alert, ContractSigned, Exposure, Influence, encode_structured, new_event
from schemas.cloudevents import decode_record
from schemas.errors import ConfigError
from schemas.registry import TOPIC_ALERTS, TOPIC_DEADLETTER
from tests.support.webhook_sink import webhook_sink
from vendorwatch.settings import load_settings

SECRET = "whsec_" + base64.b64encode(b"d" * 32).decode()


def alert_event(alert_id: str = "meta-scale-1", event_id: str = "alert-evt-1"):
    alert = Alert(
        alert_id=alert_id,
        sequence=1,
        status="firing",
        transition="opened",
        severity="high",
        lab_id="google",
        vendor_id="scale-ai",
        competitor_id="meta",
        influence=Influence(economic_share=49.0),
        exposure=Exposure(annual_value_usd=150e6, data_classes=("training_data",)),
        summary="Meta holds 49% of Scale AI, which receives Google training data.",
    )
    return new_event(id=event_id, source="vendorwatch/test", type="vendorwatch.alert.v1", data=alert)


def record(value: bytes | None, headers=(), offset: int = 7) -> Record:
    return Record(TOPIC_ALERTS, 3, offset, b"google", value, tuple(headers))


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send_and_wait(self, topic, value=None, key=None, headers=None):
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers or [])})


def settings_for(url: str, **extra: str):
    env = {
        "VENDORWATCH_WEBHOOK_URL": url,
        "VENDORWATCH_WEBHOOK_SECRET": SECRET,
        "VENDORWATCH_ALLOW_INSECURE_HOSTS": "127.0.0.1",
        "VENDORWATCH_RETRY_INITIAL_S": "0.01",
        "VENDORWATCH_RETRY_MAX_S": "0.05",
        "VENDORWATCH_RETRY_HORIZON_S": "2",
        **extra,
    }
    return load_settings(env)


def test_refuses_to_start_without_a_receiver() -> None:
    with pytest.raises(ConfigError) as info:
        Dispatcher(load_settings({}), CollectorRegistry())
    assert info.value.setting == "VENDORWATCH_WEBHOOK_URL"
    with pytest.raises(ConfigError):
        run_dispatcher(load_settings({}))


def test_deadletter_headers() -> None:
    rec = record(b"nope", headers=[("ce_specversion", b"1.0")])
    headers = dict(alert_deadletter_headers(rec, "x" * 5000, "expired", "webhook"))
    assert headers["vw-reason"] == b"x" * 4096
    assert headers["vw-error-kind"] == b"expired"
    assert headers["vw-receiver"] == b"webhook"
    assert headers["vw-source-topic"] == TOPIC_ALERTS.encode()
    assert headers["vw-source-partition"] == b"3"
    assert headers["vw-source-offset"] == b"7"
    assert headers["vw-original-ce_specversion"] == b"1.0"  # kept so a binary-mode record can be replayed


def test_body_is_the_record_value_or_structured_for_binary_mode() -> None:
    event = alert_event()
    value = encode_structured(event)
    assert webhook_body(record(value), event) is value
    data = json.dumps(event.to_json()["data"]).encode()
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"alert-evt-1"),
        ("ce_source", b"vendorwatch/test"),
        ("ce_type", b"vendorwatch.alert.v1"),
    ]
    binary = record(data, headers)
    assert (
        json.loads(webhook_body(binary, decode_record(binary.value, binary.headers)))["id"] == "alert-evt-1"
    )


async def test_delivers_to_a_verifying_receiver_with_the_event_id() -> None:
    async with webhook_sink(SECRET) as sink:
        registry = CollectorRegistry()
        dispatcher = Dispatcher(settings_for(sink.url), registry)
        producer = FakeProducer()
        value = encode_structured(alert_event())
        sink.fail("alert-evt-1", 2)
        async with httpx.AsyncClient() as client:
            await dispatcher.handle(record(value), producer, client)
        assert producer.sent == []
        assert [d.webhook_id for d in sink.deliveries] == ["alert-evt-1"]
        assert sink.deliveries[0].raw == value
        assert sink.attempts["alert-evt-1"] == 3
    sample = registry.get_sample_value
    assert (
        sample("vendorwatch_alert_deliveries_total", {"receiver_kind": "webhook", "outcome": "delivered"})
        == 1
    )
    labels = {"receiver_kind": "webhook", "result": "retryable"}
    assert sample("vendorwatch_alert_delivery_attempts_total", labels) == 2
    assert sample("vendorwatch_alert_delivery_seconds_count", {"receiver_kind": "webhook"}) == 3


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        (b"not json", "not JSON"),
        (None, "empty record"),
        (
            encode_structured(
                new_event(
                    id="c1",
                    source="t",
                    type="vendorwatch.contract.signed.v1",
                    data=ContractSigned(
                        contract_id="c1", lab_id="google", vendor_id="scale-ai", annual_value_usd=1
                    ),
                )
            ),
            "expected type 'vendorwatch.alert.v1'",
        ),
    ],
)
async def test_undecodable_records_go_to_the_deadletter_topic(value, reason_part: str) -> None:
    registry = CollectorRegistry()
    dispatcher = Dispatcher(settings_for("http://127.0.0.1:9/x"), registry)
    producer = FakeProducer()
    async with httpx.AsyncClient() as client:
        await dispatcher.handle(record(value), producer, client)
    (sent,) = producer.sent
    assert sent["topic"] == TOPIC_DEADLETTER
    assert sent["value"] == value
    assert reason_part in sent["headers"]["vw-reason"].decode()
    assert sent["headers"]["vw-source-offset"] == b"7"
    assert "vw-receiver" not in sent["headers"]
    assert registry.get_sample_value("vendorwatch_alert_deadletters_total", {"reason": "undecodable"}) == 1


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [(httpx.Response(410), "failed"), (httpx.Response(503), "expired")],
)
async def test_undeliverable_alerts_are_dead_lettered(answer: httpx.Response, outcome: str) -> None:
    registry = CollectorRegistry()
    settings = settings_for("https://hooks.example.com/x?token=sekrit", VENDORWATCH_RETRY_HORIZON_S="0.2")

    async def public(host: str, port: int):
        import ipaddress

        return (ipaddress.ip_address("93.184.216.34"),)

    dispatcher = Dispatcher(settings, registry, resolver=public)
    producer = FakeProducer()
    value = encode_structured(alert_event())
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: answer)) as client:
        await dispatcher.handle(record(value), producer, client)
    (sent,) = producer.sent
    assert sent["topic"] == TOPIC_ALERTS_DEADLETTER
    assert sent["value"] == value
    assert sent["headers"]["vw-receiver"] == b"webhook"
    assert sent["headers"]["vw-error-kind"] == outcome.encode()
    reason = sent["headers"]["vw-reason"].decode()
    assert "sekrit" not in reason and SECRET not in reason
    sample = registry.get_sample_value
    assert sample("vendorwatch_alert_deliveries_total", {"receiver_kind": "webhook", "outcome": outcome}) == 1
    assert sample("vendorwatch_alert_deadletters_total", {"reason": outcome}) == 1


async def test_an_unsafe_target_is_refused_before_any_request() -> None:
    calls: list[httpx.Request] = []

    async def private(host: str, port: int):
        import ipaddress

        return (ipaddress.ip_address("169.254.169.254"),)

    dispatcher = Dispatcher(
        settings_for("https://metadata.example.com/"), CollectorRegistry(), resolver=private
    )
    producer = FakeProducer()

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(204)

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport) as client:
        await dispatcher.handle(record(encode_structured(alert_event())), producer, client)
    assert calls == []
    assert producer.sent[0]["topic"] == TOPIC_ALERTS_DEADLETTER
    assert b"non-public" in producer.sent[0]["headers"]["vw-reason"]


async def test_the_sink_rejects_bad_signatures() -> None:
    async with webhook_sink(SECRET) as sink, httpx.AsyncClient() as client:
        response = await client.post(
            sink.url,
            content=b"{}",
            headers={"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
        )
        assert response.status_code == 401
        assert sink.rejected == 1 and sink.deliveries == []
