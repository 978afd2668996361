"""The dispatcher: consumes ``vendorwatch.alerts`` and delivers each alert to the webhook receiver.

Delivery is apart from detection so a slow or dead receiver never stalls the stream processor.

At-least-once: a record's offset is committed only once its delivery has ended (delivered, or failed
permanently / past the retry horizon and written to ``vendorwatch.alerts.deadletter``). A crash or
rebalance in between means the alert is delivered again with the same ``webhook-id``, which receivers
use to drop the repeat. Records that are not alert CloudEvents go to ``vendorwatch.deadletter``.

Each assigned partition is drained by its own task while the consumer pauses fetching for it, so one
receiver outage being retried on one partition does not hold back the others.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from alerts.delivery import (
    AttemptResult,
    Clock,
    DeliveryReport,
    Jitter,
    RetryPolicy,
    Sleep,
    Target,
    deliver_with_retries,
)
from alerts.metrics import DispatcherMetrics, build_dispatcher_metrics
from alerts.safety import Resolver, check_url, resolve_host
from schemas.cloudevents import CloudEvent, decode_record, encode_structured
from schemas.errors import ConfigError, InvalidEvent
from schemas.registry import ALERT, TOPIC_ALERTS, TOPIC_DEADLETTER
from streams import deadletter
from streams.admin import ALERTS_DEADLETTER as TOPIC_ALERTS_DEADLETTER
from streams.admin import ensure_topics
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

RECEIVER_KIND = "webhook"
RECEIVER_HEADER = "vw-receiver"


@dataclass(frozen=True, slots=True)
class Record:
    """The fields of a consumed record the dispatcher uses (aiokafka's ``ConsumerRecord`` has them)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def webhook_target(settings: Settings) -> Target:
    """The default receiver from settings; the dispatcher has no purpose without one."""
    if not settings.webhook_url:
        raise ConfigError("VENDORWATCH_WEBHOOK_URL", "the dispatcher needs a receiver")
    if settings.webhook_secret is None:
        raise ConfigError("VENDORWATCH_WEBHOOK_SECRET", "required when VENDORWATCH_WEBHOOK_URL is set")
    return Target(settings.webhook_url, (settings.webhook_secret.get_secret_value(),), RECEIVER_KIND)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        timeout_s=settings.delivery_timeout_s,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        horizon_s=settings.retry_horizon_s,
    )


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


def alert_deadletter_headers(record: Record, reason: str, kind: str, receiver: str) -> list[tuple[str, bytes]]:
    """The worker's dead-letter headers plus ``vw-receiver``, for an alert that could not be delivered."""
    return deadletter.deadletter_headers(reason, kind, record.topic, record.partition, record.offset,
                                         record.headers, extra=[(RECEIVER_HEADER, receiver.encode())])


def as_record(raw: Any) -> Record:
    return Record(raw.topic, raw.partition, raw.offset, raw.key, raw.value, tuple(raw.headers or ()))


class Dispatcher:
    """Consumes alerts and delivers them; build one per process with ``Dispatcher(settings, registry)``."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve_host,
        now: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: Jitter | None = None,
    ) -> None:
        self.settings = settings
        self.target = webhook_target(settings)  # refuse to start before touching Kafka
        self.policy = retry_policy(settings)
        self.metrics: DispatcherMetrics = build_dispatcher_metrics(registry, (RECEIVER_KIND,))
        self._transport = transport
        self._resolver = resolver
        self._now = now
        self._sleep = sleep
        self._rng: Jitter = rng or random.Random()  # noqa: S311 - jitter, not security

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and deliver until ``stop`` is set; in-flight attempts get a grace period, then cancel."""
        await ensure_topics(self.settings, [TOPIC_ALERTS, TOPIC_ALERTS_DEADLETTER, TOPIC_DEADLETTER])
        async with self._connections() as (consumer, producer, client):
            workers = PartitionWorkers()
            consumer.subscribe([TOPIC_ALERTS], listener=_Revoker(workers))
            log.info("dispatcher consuming %s as group %s", TOPIC_ALERTS, self.settings.dispatcher_group)
            try:
                await self._poll(consumer, producer, client, workers, stop)
            finally:
                await workers.stop(grace_s=self.settings.delivery_timeout_s)

    async def _poll(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        client: httpx.AsyncClient,
        workers: PartitionWorkers,
        stop: asyncio.Event,
    ) -> None:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=100)
            for tp, raws in batch.items():
                # Paused until its task is done: the consumer's position is already past these records.
                consumer.pause(tp)
                records = [as_record(r) for r in raws]
                workers.start(tp, self._drain(consumer, producer, client, tp, records))
            workers.reap(consumer)

    async def _drain(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        client: httpx.AsyncClient,
        tp: TopicPartition,
        records: list[Record],
    ) -> None:
        for record in records:
            await self.handle(record, producer, client)
            await consumer.commit({tp: record.offset + 1})

    async def handle(self, record: Record, producer: AIOKafkaProducer, client: httpx.AsyncClient) -> None:
        """Deliver one record, or dead-letter it; returns when it may be committed."""
        try:
            event = decode_alert(record)
        except InvalidEvent as exc:
            log.warning(
                "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc.reason
            )
            headers = deadletter.deadletter_headers(
                exc.reason, exc.kind, record.topic, record.partition, record.offset, record.headers
            )
            await _send_deadletter(producer, TOPIC_DEADLETTER, record, headers)
            self.metrics.deadletter("undecodable")
            return
        report = await self.deliver(client, webhook_body(record, event), event.id)
        self.metrics.delivery(self.target.kind, report.outcome)
        if report.outcome != "delivered":
            log.warning("alert %s not delivered (%s): %s", event.id, report.outcome, report.reason)
            headers = alert_deadletter_headers(record, report.reason, report.outcome, self.target.kind)
            await _send_deadletter(producer, TOPIC_ALERTS_DEADLETTER, record, headers)
            self.metrics.deadletter(report.outcome)

    async def deliver(self, client: httpx.AsyncClient, body: bytes, msg_id: str) -> DeliveryReport:
        target = self.target

        async def preflight() -> None:
            # Checked before every attempt: DNS answers can change during a long retry schedule.
            await check_url(target.url, self.settings.allow_insecure_hosts, self._resolver)

        def observe(result: AttemptResult, seconds: float) -> None:
            self.metrics.attempt(target.kind, result, seconds)

        return await deliver_with_retries(
            client,
            target,
            body,
            msg_id,
            self.policy,
            now=self._now,
            sleep=self._sleep,
            rng=self._rng,
            preflight=preflight,
            observe=observe,
        )

    @contextlib.asynccontextmanager
    async def _connections(
        self,
    ) -> AsyncIterator[tuple[AIOKafkaConsumer, AIOKafkaProducer, httpx.AsyncClient]]:
        bootstrap = self.settings.kafka_bootstrap
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=self.settings.dispatcher_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        # trust_env=False: proxies from the environment would bypass the target check, and settings are
        # the only configuration. Redirects are refused, so a receiver cannot bounce us elsewhere.
        client = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            trust_env=False,
            timeout=self.settings.delivery_timeout_s,
        )
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(client)
            await producer.start()
            stack.push_async_callback(producer.stop)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            yield consumer, producer, client


class PartitionWorkers:
    """One delivery task per partition with fetched records; the partition stays paused while it runs."""

    def __init__(self) -> None:
        self.tasks: dict[TopicPartition, asyncio.Task[None]] = {}

    def start(self, tp: TopicPartition, work: Any) -> None:
        self.tasks[tp] = asyncio.create_task(work, name=f"dispatch-{tp.topic}-{tp.partition}")

    def reap(self, consumer: AIOKafkaConsumer) -> None:
        """Resume partitions whose task is done; re-raise a task's failure (it could not commit safely)."""
        for tp, task in list(self.tasks.items()):
            if not task.done():
                continue
            del self.tasks[tp]
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            if tp in consumer.assignment():
                consumer.resume(tp)

    async def cancel(self, tps: Iterable[TopicPartition]) -> None:
        """Stop work on revoked partitions; their uncommitted records go to the next owner."""
        tasks = [self.tasks.pop(tp) for tp in tps if tp in self.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self, grace_s: float) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks.values(), timeout=grace_s)
        await self.cancel(list(self.tasks))


class _Revoker(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, workers: PartitionWorkers) -> None:
        self.workers = workers

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.workers.cancel(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        return None


async def _send_deadletter(
    producer: AIOKafkaProducer, topic: str, record: Record, headers: list[tuple[str, bytes]]
) -> None:
    # Awaited before the commit: an alert must be in the dead-letter topic before it leaves this one.
    await producer.send_and_wait(topic, value=record.value, key=record.key, headers=headers)


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

    Raises ``ConfigError`` when no receiver is configured.
    """
    webhook_target(settings)  # fail fast, before an event loop and Kafka connections exist
    asyncio.run(serve(settings, registry or CollectorRegistry()))
