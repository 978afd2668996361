"""The dispatcher: consumes ``vendorwatch.alerts``, routes each alert to its receivers, delivers with retries.

Delivery is apart from detection so a slow or dead receiver never stalls the stream processor.

Nothing is lost when it is killed: for each alert record the dispatcher first writes one pending
``Delivery`` per routed receiver to its state topic (``alerts.store``), then commits the record's offset;
after every attempt it writes the delivery's new state (next due time, or how it ended). A restarted
dispatcher loads the state of the partitions it is assigned and carries on with each pending attempt at
its due time; a partition's records are routed only once its state is loaded, so a record read again is
recognised. A crash between an attempt and its state write repeats that attempt under the same
``webhook-id``, which receivers use to drop the repeat (at-least-once).

Each receiver has its own lane (``alerts.lanes``) so one slow or dead receiver never delays another.
A delivery that fails permanently or runs past the horizon goes to ``vendorwatch.alerts.deadletter``
with ``vw-receiver`` and the last error; records that are not alert CloudEvents go to
``vendorwatch.deadletter``. A receiver answering 410 is disabled (error log, metric
``vendorwatch_alert_receiver_disabled``, its deliveries dead-lettered) and stays disabled across restarts
until ``vendorwatch alerts receiver enable NAME`` (``alerts.receiver_state``). A record carrying
``vw-redeliver-to: <receiver>`` (``vendorwatch alerts redeliver``) is delivered again to that receiver
only, under the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from alerts import record as rec
from alerts.delivery import Clock, ReceiverGone, post, warm_up
from alerts.follow import by_key, follow_topic
from alerts.lanes import STATEFUL_KINDS, Lane
from alerts.metrics import DispatcherMetrics, build_dispatcher_metrics
from alerts.pinning import PinnedTransport
from alerts.receiver_state import ReceiverBook, ReceiverState, receivers_topic
from alerts.receiver_state import encode as encode_receiver_state
from alerts.receivers import alertmanager_request, build
from alerts.record import Attempt, Delivery, Source
from alerts.routing import Receiver, Routing, load_routing
from alerts.safety import Resolver, check_scheme, resolve_host
from alerts.schedule import Jitter, Schedule, parse_delays
from alerts.silences import SilenceBook, follow_silences
from alerts.store import DeliveryLog, ensure_delivery_topics
from schemas.cloudevents import CloudEvent, decode_record, encode_structured
from schemas.errors import InvalidEvent, PermanentDelivery, RetryableDelivery
from schemas.registry import ALERT, TOPIC_ALERTS, TOPIC_DEADLETTER
from streams import deadletter
from streams.admin import ALERTS_DEADLETTER as TOPIC_ALERTS_DEADLETTER
from streams.admin import ensure_topics
from streams.metrics import lag_by_topic
from vendorwatch.brokers import client_options, fetch_promptly
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

RECEIVER_HEADER = "vw-receiver"
REDELIVER_HEADER = "vw-redeliver-to"
LOADING_POLL_S = 0.05
"""How often records of a partition whose deliveries are still being loaded are fetched again."""
BROKER_RETRY_S = 1.0
"""The wait before saving or loading deliveries again after the broker failed the last try."""
LABEL_FIELDS = ("alert_id", "lab_id", "vendor_id", "competitor_id", "severity", "transition", "status")

__all__ = ["TOPIC_ALERTS_DEADLETTER", "Dispatcher", "Record", "ensure_topics", "run_dispatcher"]


@dataclass(frozen=True, slots=True)
class Record:
    """The fields of a consumed record the dispatcher uses (aiokafka's ``ConsumerRecord`` has them)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def decode_alert(record: Record) -> CloudEvent:
    """The alert CloudEvent of ``record``; ``InvalidEvent`` for anything else, which is dead-lettered."""
    event = decode_record(record.value, record.headers)
    if event.type != ALERT:
        raise InvalidEvent(
            f"expected type {ALERT!r} on {TOPIC_ALERTS}, got {event.type!r}", event_type=event.type
        )
    return event


def webhook_body(record: Record, event: CloudEvent) -> bytes:
    """The structured-mode JSON receivers get: the record value as produced, or re-encoded if binary."""
    binary = any(k.lower() == "ce_specversion" for k, _ in record.headers)
    if binary or record.value is None:
        return encode_structured(event)
    return record.value


def alert_labels(event: CloudEvent) -> dict[str, str]:
    """What routes and silences match on, plus the alert's sequence for ordering per alert."""
    data = event.data.model_dump(mode="json")
    labels = {name: str(data[name]) for name in LABEL_FIELDS}
    labels["sequence"] = str(data.get("sequence", 0))
    return labels


def alert_deadletter_headers(delivery: Delivery, reason: str, kind: str) -> list[tuple[str, bytes]]:
    """The worker's dead-letter headers plus ``vw-receiver``, for an alert that could not be delivered."""
    src = delivery.source
    return deadletter.deadletter_headers(reason, kind, src.topic, src.partition, src.offset, (),
                                         extra=[(RECEIVER_HEADER, delivery.receiver.encode())])


def as_record(raw: Any) -> Record:
    return Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value, tuple(raw.headers or ()))


class Dispatcher:
    """Consumes alerts and delivers them; build one per process with ``Dispatcher(settings, registry)``."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        *,
        routing: Routing | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve_host,
        now: Clock = time.time,
        rng: Jitter | None = None,
    ) -> None:
        self.settings = settings
        self.routing = routing or load_routing(settings)  # refuse to start before touching Kafka
        self.schedule = Schedule(parse_delays(settings.retry_schedule), settings.retry_jitter)
        kinds = {name: r.kind for name, r in self.routing.receivers.items()}
        self.metrics: DispatcherMetrics = build_dispatcher_metrics(registry, kinds)
        self.silences = SilenceBook()
        self.receiver_states = ReceiverBook()
        self._transport = transport or PinnedTransport(settings.allow_insecure_hosts, resolver)
        self._now = now
        self._rng: Jitter = rng or random.Random()  # noqa: S311 - jitter, not security
        self._lanes = {name: Lane(name, r.kind, self.attempt, max_in_flight=r.config.max_in_flight, now=now)
                       for name, r in self.routing.receivers.items()}
        self._known: dict[str, int] = {}  # delivery key -> partition, for every delivery in owned partitions
        self._loaded: set[int] = set()  # owned partitions whose deliveries are loaded: records are routed there
        self._latest: dict[tuple[str, str], int] = {}  # (receiver, alert_id) -> highest sequence routed
        self._open: dict[str, dict[str, Delivery]] = {}  # alertmanager receiver -> alert_id -> firing delivery
        self._log: DeliveryLog | None = None
        self._committed: dict[TopicPartition, int] = {}  # for the consumer-lag gauge
        self._producer: AIOKafkaProducer | None = None
        self._client: httpx.AsyncClient | None = None

    # --- running -----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and deliver until ``stop`` is set; in-flight attempts are cancelled (their state is kept)."""
        await ensure_delivery_topics(self.settings)
        async with self._connections() as (consumer, producer, client):
            self._producer, self._client = producer, client
            self._log = DeliveryLog(self.settings, producer)
            tasks = await self._start_background()
            try:
                consumer.subscribe([TOPIC_ALERTS], listener=_Rebalance(self))
                log.info("dispatcher consuming %s as group %s", TOPIC_ALERTS, self.settings.dispatcher_group)
                while not stop.is_set():
                    await self._poll_once(consumer)
                    self._check(tasks)
                    self._observe_lag(consumer)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _start_background(self) -> list[asyncio.Task[None]]:
        silences, receivers = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(follow_silences(self.settings, self.silences, silences), name="silences"),
                 asyncio.create_task(follow_topic(self.settings, receivers_topic(self.settings),
                                                  by_key(self.receiver_states.apply), receivers), name="receivers")]
        with contextlib.suppress(TimeoutError):
            # Silences and disabled receivers from before a restart must hold before the first attempt.
            await asyncio.wait_for(asyncio.gather(silences.wait(), receivers.wait()), timeout=30)
        tasks += [asyncio.create_task(lane.run(), name=f"lane-{name}") for name, lane in self._lanes.items()]
        tasks += [asyncio.create_task(self._resend(r), name=f"resend-{r.name}")
                  for r in self.routing.receivers.values() if r.kind == "alertmanager"]
        return tasks

    def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        assigned = [tp for tp in consumer.assignment() if tp.topic == TOPIC_ALERTS]
        ends = {(tp.topic, tp.partition): consumer.highwater(tp) for tp in assigned}
        done = {(tp.topic, tp.partition): self._committed.get(tp) for tp in assigned}
        self.metrics.set_consumer_lag(lag_by_topic(ends, ends, done, [TOPIC_ALERTS]))

    def _check(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"dispatcher task {task.get_name()} failed") from task.exception()
        for name, lane in self._lanes.items():
            self.metrics.pending.labels(receiver=name).set(len(lane.pending))
            self.metrics.retries_pending.labels(receiver=name).set(sum(1 for d in lane.pending.values() if d.failures))
            # From the followed topic, so an enable from the command line shows here within a poll.
            gone = self.receiver_states.disabled(name) is not None
            self.metrics.disabled.labels(receiver=name).set(1 if gone else 0)

    async def _poll_once(self, consumer: AIOKafkaConsumer) -> None:
        batch = await consumer.getmany(timeout_ms=200, max_records=500)
        loading = False
        for tp, raws in batch.items():
            if tp.partition not in self._loaded:
                # aiokafka fetches a new assignment's records while its listener still loads the deliveries
                # already saved there. Routed now, a record read again after a crash would be scheduled
                # twice, and the load would then schedule again what this dispatcher was sending.
                if tp in consumer.assignment():
                    consumer.seek(tp, raws[0].offset)
                loading = True
                continue
            try:
                await self.accept([as_record(r) for r in raws])
                await consumer.commit({tp: raws[-1].offset + 1})
                self._committed[tp] = raws[-1].offset + 1
            except KafkaError as exc:
                # Broker away: read these records again once it is back; deliveries already saved are known
                # and not scheduled twice.
                log.warning("could not record alerts of %s[%d] (%s); will retry", tp.topic, tp.partition,
                            type(exc).__name__)
                consumer.seek(tp, raws[0].offset)
                await asyncio.sleep(BROKER_RETRY_S)
                return
        if loading:
            await asyncio.sleep(LOADING_POLL_S)

    # --- accepting alert records ----------------------------------------------------------------------

    async def accept(self, records: Iterable[Record]) -> list[Delivery]:
        """Route records to receivers and save one pending delivery each; returns once they are durable."""
        fresh: list[Delivery] = []
        for record in records:
            fresh += await self._route(record)
        assert self._log is not None
        await self._log.save(fresh)
        for delivery in fresh:
            self._track(delivery)
            self._lanes[delivery.receiver].add(delivery)
        return fresh

    async def _route(self, record: Record) -> list[Delivery]:
        try:
            event = decode_alert(record)
        except InvalidEvent as exc:
            await self._deadletter_undecodable(record, exc)
            return []
        labels = alert_labels(event)
        redeliver = next((v.decode() for k, v in record.headers if k == REDELIVER_HEADER), None)
        names = (redeliver,) if redeliver else self.routing.route(labels)
        now = self._now()
        source = Source(record.topic, record.partition, record.offset, record.key.decode() if record.key else None)
        body = webhook_body(record, event).decode()
        fresh = []
        for name in names:
            receiver = self.routing.receivers.get(name)
            if receiver is None:
                log.warning("redelivery asked for unknown receiver %r; ignored", name)
                continue
            if rec.delivery_key(name, event.id) in self._known and not redeliver:
                continue  # this record was read before a crash and its delivery is already scheduled
            fresh.append(Delivery(name, event.id, labels, body, source, created_at=now, due_at=now,
                                  deadline=now + receiver.horizon_s, redelivery=int(bool(redeliver))))
        return fresh

    def _track(self, delivery: Delivery) -> None:
        self._known[delivery.key] = delivery.source.partition
        key = (delivery.receiver, delivery.alert_id)
        self._latest[key] = max(self._latest.get(key, 0), delivery.sequence)

    async def _deadletter_undecodable(self, record: Record, exc: InvalidEvent) -> None:
        log.warning("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc.reason)
        headers = deadletter.deadletter_headers(
            exc.reason, exc.kind, record.topic, record.partition, record.offset, record.headers
        )
        assert self._producer is not None
        # Awaited before the commit: an alert must be in the dead-letter topic before it leaves this one.
        await self._producer.send_and_wait(TOPIC_DEADLETTER, value=record.value, key=record.key, headers=headers)
        self.metrics.deadletter("undecodable")

    # --- attempting ------------------------------------------------------------------------------------

    async def attempt(self, delivery: Delivery) -> Delivery:
        """One attempt (or a decision not to attempt), saved before it returns; the lane reschedules."""
        receiver = self.routing.receivers[delivery.receiver]
        updated = self._decide_without_sending(receiver, delivery) or await self._send(receiver, delivery)
        assert self._log is not None
        await self._log.save([updated])
        if updated.final:
            await self._finish(receiver, updated)
        return updated

    def _decide_without_sending(self, receiver: Receiver, d: Delivery) -> Delivery | None:
        gone = self.receiver_states.disabled(receiver.name)
        if gone is not None:
            return rec.closed(d, "failed", f"receiver disabled: {gone.reason}")
        if receiver.kind in STATEFUL_KINDS and d.sequence < self._latest.get((receiver.name, d.alert_id), 0):
            return rec.closed(d, "superseded", "a later transition of this alert replaced it")
        silence = self.silences.silencing(d.labels, self._now())
        if silence is not None:
            return rec.closed(d, "silenced", f"silence {silence.id}")
        return None

    async def _send(self, receiver: Receiver, d: Delivery) -> Delivery:
        started, now = time.perf_counter(), self._now()
        try:
            check_scheme(receiver.url, self.settings.allow_insecure_hosts)
            out = build(receiver, d, now)
            assert self._client is not None
            await post(self._client, out.url, out.content, out.headers, self._now, kind=receiver.kind,
                       timeout_s=receiver.timeout_s)
        except RetryableDelivery as exc:
            attempt = self._observe(receiver, started, now, "retryable", str(exc))
            due = self.schedule.next_due(d.failures + 1, self._now(), exc.retry_after, self._rng)
            return rec.retry_or_expire(d, attempt, str(exc), due)
        except ReceiverGone as exc:
            await self._disable(receiver, str(exc))
            return rec.failed(d, self._observe(receiver, started, now, "permanent", str(exc)), str(exc))
        except PermanentDelivery as exc:
            return rec.failed(d, self._observe(receiver, started, now, "permanent", str(exc)), str(exc))
        return rec.delivered(d, self._observe(receiver, started, now, "ok", "delivered"))

    def _observe(self, receiver: Receiver, started: float, at: float, result: str, detail: str) -> Attempt:
        seconds = time.perf_counter() - started
        self.metrics.attempt(receiver.name, receiver.kind, result, seconds)
        return Attempt(at, result, detail, round(seconds, 4))

    async def _disable(self, receiver: Receiver, reason: str) -> None:
        state = ReceiverState(receiver.name, True, reason, self._now())
        assert self._producer is not None
        # Written before acting on it: if the write fails the attempt is repeated (and answered 410 again),
        # so a restarted dispatcher never forgets a receiver that asked not to be sent more.
        await self._producer.send_and_wait(receivers_topic(self.settings), value=encode_receiver_state(state),
                                           key=receiver.name.encode())
        self.receiver_states.apply(receiver.name.encode(), encode_receiver_state(state))
        log.error("receiver %s (%s) answered 410 Gone: disabled, its alerts go to %s; re-enable with "
                  "'vendorwatch alerts receiver enable %s'", receiver.name, receiver.kind, TOPIC_ALERTS_DEADLETTER,
                  receiver.name)
        self.metrics.disabled.labels(receiver=receiver.name).set(1)

    async def _finish(self, receiver: Receiver, d: Delivery) -> None:
        self.metrics.delivery(receiver.name, receiver.kind, d.status)
        if d.status == "delivered":
            self.metrics.delivered(receiver.kind, d.body, self._now())
        if d.status in ("failed", "expired"):
            log.warning("alert %s not delivered to %s (%s): %s", d.webhook_id, receiver.name, d.status, d.reason)
            assert self._producer is not None
            await self._producer.send_and_wait(
                TOPIC_ALERTS_DEADLETTER, value=d.body.encode(),
                key=d.source.key.encode() if d.source.key else None,
                headers=alert_deadletter_headers(d, d.reason, d.status))
            self.metrics.deadletter(d.status)
        if receiver.kind == "alertmanager" and d.status == "delivered":
            self._remember_open(receiver.name, d)

    # --- Alertmanager re-sends -------------------------------------------------------------------------

    def _remember_open(self, receiver: str, d: Delivery) -> None:
        open_alerts = self._open.setdefault(receiver, {})
        current = open_alerts.get(d.alert_id)
        if current is not None and current.sequence > d.sequence:
            return
        if d.labels.get("status") == "firing":
            open_alerts[d.alert_id] = d
        else:
            open_alerts.pop(d.alert_id, None)

    async def _resend(self, receiver: Receiver) -> None:
        """Re-post firing alerts while they stay open, as Alertmanager expects of its clients."""
        while True:
            await asyncio.sleep(receiver.config.resend_s)
            now = self._now()
            alerts = [json.loads(d.body) for d in self._open.get(receiver.name, {}).values()
                      if self.silences.silencing(d.labels, now) is None]
            if not alerts:
                continue
            out = alertmanager_request(receiver, alerts, now)
            started = time.perf_counter()
            try:
                assert self._client is not None
                await post(self._client, out.url, out.content, out.headers, self._now, kind=receiver.kind,
                           timeout_s=receiver.timeout_s)
                self._observe(receiver, started, now, "ok", "resent")
            except RetryableDelivery as exc:  # the next re-send is the retry
                self._observe(receiver, started, now, "retryable", str(exc))
            except PermanentDelivery as exc:
                self._observe(receiver, started, now, "permanent", str(exc))

    # --- partitions ------------------------------------------------------------------------------------

    async def assigned(self, partitions: Iterable[int]) -> None:
        """Load the state of newly owned partitions and schedule what is pending there; their records are
        routed from then on."""
        owned = list(partitions)
        loaded = await self._load(owned)
        for d in sorted(loaded, key=lambda d: d.created_at):
            if d.receiver not in self._lanes:
                continue  # a receiver removed from the routing since; its state stays for `alerts show`
            self._track(d)
            receiver = self.routing.receivers[d.receiver]
            if receiver.kind == "alertmanager" and d.status == "delivered":
                self._remember_open(d.receiver, d)
            if not d.final:
                self._lanes[d.receiver].add(d)
        self._loaded.update(owned)
        pending = sum(1 for d in loaded if not d.final)
        log.info("loaded %d deliveries (%d pending) for partitions %s", len(loaded), pending, sorted(owned))

    async def _load(self, partitions: list[int]) -> list[Delivery]:
        assert self._log is not None
        while True:
            try:
                return await self._log.load(partitions)
            except KafkaError as exc:
                # Until it is loaded a partition's records wait, so keep trying (the broker may be away).
                log.warning("could not load the deliveries of partitions %s (%s); will retry", sorted(partitions),
                            type(exc).__name__)
                await asyncio.sleep(BROKER_RETRY_S)

    def revoked(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        self._loaded -= gone
        for lane in self._lanes.values():
            lane.drop_partitions(gone)
        self._known = {k: p for k, p in self._known.items() if p not in gone}
        self._committed = {tp: o for tp, o in self._committed.items() if tp.partition not in gone}
        for open_alerts in self._open.values():
            for alert_id, d in list(open_alerts.items()):
                if d.source.partition in gone:
                    del open_alerts[alert_id]

    @contextlib.asynccontextmanager
    async def _connections(
        self,
    ) -> AsyncIterator[tuple[AIOKafkaConsumer, AIOKafkaProducer, httpx.AsyncClient]]:
        consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            group_id=self.settings.dispatcher_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        producer = AIOKafkaProducer(**client_options(self.settings), acks="all", enable_idempotence=True)
        # trust_env=False: proxies from the environment would bypass the target check, and settings are
        # the only configuration. Redirects are refused, so a receiver cannot bounce us elsewhere.
        client = httpx.AsyncClient(transport=self._transport, follow_redirects=False, trust_env=False)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(client)
            await warm_up()
            await producer.start()
            stack.push_async_callback(producer.stop)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            fetch_promptly(consumer._fetcher)  # no alert waits behind another partition's records
            yield consumer, producer, client


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.dispatcher.revoked(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.dispatcher.assigned([tp.partition for tp in assigned])


async def serve(settings: Settings, registry: CollectorRegistry) -> None:
    """Run a dispatcher, with ``/metrics`` and ``/healthz`` on its own port, until SIGTERM or SIGINT."""
    dispatcher = Dispatcher(settings, registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(_ops_app(registry), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.http_host, settings.dispatcher_http_port).start()
        await dispatcher.run(stop)
    finally:
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _ops_app(registry: CollectorRegistry) -> web.Application:
    async def metrics(request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    return app


def run_dispatcher(settings: Settings, registry: CollectorRegistry | None = None) -> None:
    """Entry point of ``vendorwatch dispatcher``: blocks until SIGTERM or SIGINT.

    Raises ``ConfigError`` when no receiver is configured or the routing file is wrong.
    """
    load_routing(settings)  # fail fast, before an event loop and Kafka connections exist
    parse_delays(settings.retry_schedule)
    asyncio.run(serve(settings, registry or CollectorRegistry()))

