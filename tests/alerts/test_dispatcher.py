"""The dispatcher's decisions without Kafka: routing to lanes, attempts, retries, 410, silences, secrets."""

from __future__ import annotations

import asyncio
import base64
import logging
import time

import httpx
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry, generate_latest

from alerts import dispatcher as dispatcher_module
from alerts import record as rec
from alerts.dispatcher import REDELIVER_HEADER, Dispatcher, Record, run_dispatcher
from alerts.receiver_state import ReceiverState
from alerts.receiver_state import decode as decode_receiver_state
from alerts.receiver_state import encode as encode_receiver_state
from alerts.silences import new_silence
from schemas import Alert, Exposure, Influence, encode_structured, new_event
from schemas.errors import ConfigError
from schemas.registry import TOPIC_ALERTS, TOPIC_DEADLETTER
from vendorwatch.settings import load_settings

SECRET = "whsec_" + base64.b64encode(b"d" * 32).decode()
TOKEN = "T0KEN-in-the-url"
PD_KEY = "pd-routing-key-sekrit"


def alert_event(event_id: str = "evt-1", alert_id: str = "ep-1", sequence: int = 1, transition="opened",
                status="firing", lab="google"):
    alert = Alert(alert_id=alert_id, sequence=sequence, status=status, transition=transition, severity="high",
                  lab_id=lab, vendor_id="scale-ai", competitor_id="meta",
                  influence=Influence(economic_share=49.0), exposure=Exposure(annual_value_usd=1e6),
                  summary="Meta holds 49% of Scale AI.")
    return new_event(id=event_id, source="vendorwatch/test", type="vendorwatch.alert.v1", data=alert)


PARTITION = TopicPartition(TOPIC_ALERTS, 3)


def record(value: bytes | None, offset: int = 7, headers=()) -> Record:
    return Record(TOPIC_ALERTS, PARTITION.partition, offset, b"google", value, tuple(headers))


class FakeLog:
    def __init__(self, saved: list[bytes] | None = None, failures: int = 0) -> None:
        self.saved: list[bytes] = [] if saved is None else saved
        self.failures = failures

    async def save(self, deliveries) -> None:
        self.saved += [rec.encode(d) for d in deliveries]

    async def load(self, partitions) -> list[rec.Delivery]:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError()
        latest = {d.key: d for d in map(rec.decode, self.saved) if d.source.partition in partitions}
        return list(latest.values())


class FakeConsumer:
    """The members of AIOKafkaConsumer that ``_poll_once`` uses: the same records until committed or sought."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.position = records[0].offset
        self.seeks: list[int] = []
        self.commits: list[int] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        waiting = [r for r in self.records if r.offset >= self.position]
        return {PARTITION: waiting} if waiting else {}

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append(offset)
        self.position = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets[PARTITION])
        self.position = offsets[PARTITION]


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send_and_wait(self, topic, value=None, key=None, headers=None):
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": dict(headers or [])})


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


class Mid:
    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def dispatcher(tmp_path, handler, routing: str | None = None, clock=None, **env: str):
    settings_env = {
        "VENDORWATCH_WEBHOOK_URL": f"https://hooks.example.com/x?token={TOKEN}",
        "VENDORWATCH_WEBHOOK_SECRET": SECRET,
        "VENDORWATCH_RETRY_SCHEDULE": "5s,5m",
        "VENDORWATCH_RETRY_HORIZON_S": "600",
        **env,
    }
    if routing is not None:
        path = tmp_path / "routing.toml"
        path.write_text(routing)
        settings_env["VENDORWATCH_ROUTING_FILE"] = str(path)
    registry = CollectorRegistry()
    d = Dispatcher(load_settings(settings_env), registry, transport=httpx.MockTransport(handler),
                   now=clock or Clock(), rng=Mid())
    d._log, d._producer = FakeLog(), FakeProducer()
    d._client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=False)
    return d, registry


def answer(*statuses: int, headers=None):
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        status = statuses[min(len(calls), len(statuses)) - 1]
        return httpx.Response(status, headers=headers or {})

    handle.calls = calls  # type: ignore[attr-defined]
    return handle


def test_refuses_to_start_without_a_receiver() -> None:
    with pytest.raises(ConfigError) as info:
        Dispatcher(load_settings({}), CollectorRegistry())
    assert info.value.setting == "VENDORWATCH_WEBHOOK_URL"
    with pytest.raises(ConfigError):
        run_dispatcher(load_settings({}))


async def test_accept_saves_one_pending_delivery_per_receiver_and_never_twice(tmp_path) -> None:
    routing = '[receivers.pd]\nkind = "pagerduty"\nrouting_key = "k"\n[[routes]]\nreceiver = "pd"\n'
    d, _ = dispatcher(tmp_path, answer(202), routing)
    value = encode_structured(alert_event())
    fresh = await d.accept([record(value)])
    assert sorted(x.receiver for x in fresh) == ["default", "pd"]
    assert all(x.status == "pending" and x.webhook_id == "evt-1" for x in fresh)
    assert len(d._log.saved) == 2  # durable before accept returns (then the offset is committed)
    assert await d.accept([record(value)]) == []  # the same record read again after a crash
    again = await d.accept([record(value, offset=99, headers=[(REDELIVER_HEADER, b"pd")])])
    assert [(x.receiver, x.webhook_id, x.redelivery) for x in again] == [("pd", "evt-1", 1)]
    assert again[0].key == "pd/evt-1@99"  # its own state record: the first delivery's attempts stay visible


async def test_undecodable_records_go_to_the_deadletter_topic(tmp_path) -> None:
    d, registry = dispatcher(tmp_path, answer(204))
    assert await d.accept([record(b"not json")]) == []
    (sent,) = d._producer.sent
    assert sent["topic"] == TOPIC_DEADLETTER and b"not JSON" in sent["headers"]["vw-reason"]
    assert registry.get_sample_value("vendorwatch_alert_deadletters_total", {"reason": "undecodable"}) == 1


async def test_retry_follows_the_schedule_and_retry_after_then_delivers(tmp_path) -> None:
    clock = Clock()
    handler = answer(503, 429, 204, headers={"retry-after": "120"})
    d, registry = dispatcher(tmp_path, handler, clock=clock)
    (delivery,) = await d.accept([record(encode_structured(alert_event()))])
    first = await d.attempt(delivery)
    assert first.status == "pending" and first.due_at == clock.t + 120  # Retry-After above the 5 s step
    second = await d.attempt(first)
    assert second.due_at == clock.t + 300  # the 5 min step is above Retry-After
    third = await d.attempt(second)
    assert third.status == "delivered" and [a.result for a in third.attempts] == ["retryable"] * 2 + ["ok"]
    assert {r.headers["webhook-id"] for r in handler.calls} == {"evt-1"}
    labels = {"receiver": "default", "receiver_kind": "webhook", "outcome": "delivered"}
    assert registry.get_sample_value("vendorwatch_alert_deliveries_total", labels) == 1


async def test_past_the_horizon_it_expires_to_the_alerts_deadletter(tmp_path) -> None:
    d, registry = dispatcher(tmp_path, answer(503), VENDORWATCH_RETRY_HORIZON_S="10")
    (delivery,) = await d.accept([record(encode_structured(alert_event()))])
    retried = await d.attempt(delivery)
    expired = await d.attempt(retried)  # the next step (5 min) falls past the 10 s horizon
    assert retried.status == "pending" and expired.status == "expired"
    (sent,) = d._producer.sent
    assert sent["topic"] == "vendorwatch.alerts.deadletter"
    assert sent["headers"]["vw-receiver"] == b"default" and sent["headers"]["vw-error-kind"] == b"expired"
    assert b"503" in sent["headers"]["vw-reason"]
    assert registry.get_sample_value("vendorwatch_alert_deadletters_total", {"reason": "expired"}) == 1


async def test_410_disables_the_receiver_and_tells_ops(tmp_path, caplog) -> None:
    handler = answer(410)
    d, registry = dispatcher(tmp_path, handler)
    one, two = await d.accept([record(encode_structured(alert_event("e1"))),
                               record(encode_structured(alert_event("e2", "ep-2")), offset=8)])
    assert (await d.attempt(one)).status == "failed"
    assert (await d.attempt(two)).status == "failed"
    assert len(handler.calls) == 1  # disabled: the second alert was not sent
    assert registry.get_sample_value("vendorwatch_alert_receiver_disabled", {"receiver": "default"}) == 1
    state, *deadletters = d._producer.sent
    # persisted before it is acted on, so a restarted dispatcher keeps the receiver disabled
    assert state["topic"] == "vendorwatch-dispatcher-receivers" and state["key"] == b"default"
    assert decode_receiver_state(state["value"]).disabled
    assert [s["headers"]["vw-error-kind"] for s in deadletters] == [b"failed", b"failed"]
    assert any("410" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


async def test_a_receiver_disabled_before_a_restart_stays_disabled_until_enabled(tmp_path) -> None:
    handler = answer(204)
    d, registry = dispatcher(tmp_path, handler)
    gone = ReceiverState("default", True, "webhook receiver answered 410", 1.0)
    d.receiver_states.apply(b"default", encode_receiver_state(gone))  # as read back from the topic
    (first,) = await d.accept([record(encode_structured(alert_event("e1")))])
    assert (await d.attempt(first)).status == "failed" and handler.calls == []
    d._check([])
    assert registry.get_sample_value("vendorwatch_alert_receiver_disabled", {"receiver": "default"}) == 1

    enabled = ReceiverState("default", False, "enabled by operator", 2.0, by="cli")
    d.receiver_states.apply(b"default", encode_receiver_state(enabled))  # `vendorwatch alerts receiver enable`
    d._check([])
    assert registry.get_sample_value("vendorwatch_alert_receiver_disabled", {"receiver": "default"}) == 0
    (second,) = await d.accept([record(encode_structured(alert_event("e2", "ep-2")), offset=8)])
    assert (await d.attempt(second)).status == "delivered" and len(handler.calls) == 1


async def test_a_silence_holds_the_delivery_back(tmp_path) -> None:
    handler = answer(204)
    clock = Clock()
    d, _ = dispatcher(tmp_path, handler, clock=clock)
    silence = new_silence({"lab_id": "google"}, clock.t - 1, 3600, "maintenance")
    d.silences.silences[silence.id] = silence
    (delivery,) = await d.accept([record(encode_structured(alert_event()))])
    done = await d.attempt(delivery)
    assert done.status == "silenced" and silence.id in done.reason and handler.calls == []
    assert d._producer.sent == []  # silenced is not dead-lettered


async def test_a_later_transition_supersedes_an_older_pending_one_for_pagerduty(tmp_path) -> None:
    routing = f'[receivers.pd]\nkind = "pagerduty"\nrouting_key = "{PD_KEY}"\n[[routes]]\nreceiver = "pd"\n'
    handler = answer(202)
    d, _ = dispatcher(tmp_path, handler, routing)
    opened = [x for x in await d.accept([record(encode_structured(alert_event("e1")))]) if x.receiver == "pd"]
    resolved = [x for x in await d.accept([record(encode_structured(
        alert_event("e2", sequence=2, transition="resolved", status="resolved")), offset=8)]) if x.receiver == "pd"]
    assert (await d.attempt(resolved[0])).status == "delivered"
    assert (await d.attempt(opened[0])).status == "superseded"  # a late trigger would reopen the incident
    assert len(handler.calls) == 1


async def test_secrets_never_reach_logs_errors_metrics_or_state(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    routing = f'[receivers.pd]\nkind = "pagerduty"\nrouting_key = "{PD_KEY}"\n' \
              f'url = "https://events.example.com/v2/enqueue?k={TOKEN}"\n[[routes]]\nreceiver = "pd"\n'

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    d, registry = dispatcher(tmp_path, boom, routing, VENDORWATCH_RETRY_HORIZON_S="1")
    for delivery in await d.accept([record(encode_structured(alert_event()))]):
        await d.attempt(delivery)
    seen = "\n".join(r.getMessage() for r in caplog.records)
    seen += generate_latest(registry).decode()
    seen += "".join(str(s["headers"]) for s in d._producer.sent)
    seen += b"".join(d._log.saved).decode() + repr(d.routing)
    for secret in (TOKEN, SECRET, PD_KEY, SECRET.removeprefix("whsec_")):
        assert secret not in seen
    assert "ConnectError" in seen  # the error is still named


async def test_a_dead_receiver_does_not_delay_a_healthy_one(tmp_path) -> None:
    routing = '[receivers.dead]\nkind = "slack"\nurl = "https://dead.example.com/x"\ntimeout_s = 2\n' \
              'max_in_flight = 2\n[[routes]]\nreceiver = "dead"\n'
    delivered_at: list[float] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "dead.example.com":
            await asyncio.sleep(5)  # hangs until our per-attempt timeout
        else:
            delivered_at.append(time.monotonic())
        return httpx.Response(204)

    d, _ = dispatcher(tmp_path, handle, routing, clock=time.time, VENDORWATCH_RETRY_SCHEDULE="60s")
    lanes = [asyncio.create_task(lane.run()) for lane in d._lanes.values()]
    start = time.monotonic()
    try:
        await d.accept([record(encode_structured(alert_event(f"e{n}", f"ep-{n}")), offset=n) for n in range(20)])
        while len(delivered_at) < 20 and time.monotonic() - start < 10:
            await asyncio.sleep(0.01)
    finally:
        for task in lanes:
            task.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
    assert len(delivered_at) == 20
    took = max(delivered_at) - start
    print(f"\nslow receiver: healthy receiver got 20/20 alerts in {took:.3f}s while the dead one hung 5 s per attempt")
    assert took < 1.0, "the healthy receiver waited for the dead one"


async def test_records_wait_until_the_deliveries_of_their_partition_are_loaded(tmp_path, monkeypatch) -> None:
    # aiokafka fetches a new assignment's records before its listener has loaded the saved deliveries; a
    # record routed then was scheduled a second time (and the load scheduled again what was being sent).
    monkeypatch.setattr(dispatcher_module, "LOADING_POLL_S", 0)
    monkeypatch.setattr(dispatcher_module, "BROKER_RETRY_S", 0)
    value = encode_structured(alert_event())
    crashed, _ = dispatcher(tmp_path, answer(204))
    (saved,) = await crashed.accept([record(value)])  # saved, then killed before its offset was committed
    d, _ = dispatcher(tmp_path, answer(204))
    d._log = FakeLog(saved=list(crashed._log.saved), failures=1)  # the broker fails the first load
    consumer = FakeConsumer([record(value)])

    await d._poll_once(consumer)
    assert consumer.commits == [] and consumer.seeks == [7] and d._lanes["default"].pending == {}
    await d.assigned([PARTITION.partition])
    assert list(d._lanes["default"].pending) == [saved.key]
    await d._poll_once(consumer)
    assert consumer.commits == [8], "routed once loaded"
    assert list(d._lanes["default"].pending) == [saved.key] and len(d._log.saved) == 1, "and not scheduled twice"

    d.revoked([PARTITION.partition])
    consumer.seek(PARTITION, 7)
    await d._poll_once(consumer)
    assert consumer.commits == [8] and d._lanes["default"].pending == {}, "a revoked partition waits again"
