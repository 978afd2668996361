"""The Faust app factory: ``create_app(settings)`` builds the app, its topics, tables, agents and pages.

Nothing happens at import time; tests and the CLI each build their own app from their own settings.
"""

from __future__ import annotations

import gc
import socket
import uuid
from dataclasses import dataclass, field, fields
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from alerts.policy import Policy
from schemas import registry as names
from streams import world_cache
from streams.admin import changelog_topic, internal_topic, stream_topics
from streams.bulk import BulkProducer
from streams.config import limits_of, policy_of
from streams.digest import Digester
from streams.durability import PendingWrites, settle_before_rebalance, track_writes
from streams.express import ExpressProducer
from streams.metrics import WorkerMetrics, build_worker_metrics
from streams.observed import ObservedGlobalTable
from streams.recovery import SeekFirstTableManager
from streams.seen_table import ChunkedSeenTable
from streams.store import Table
from streams.transport import Transport
from streams.world_cache import WorldCache
from vendorwatch.brokers import faust_credentials, partition_for
from vendorwatch.settings import Settings

PRODUCER_LINGER_MS = 0


class Utf8Key(str):
    """Table key type: an id as its plain UTF-8 bytes in the changelog.

    Faust would JSON-encode a str key ('"scale-ai"'); raw bytes hash like the input topics' keys, so
    table_route finds the worker that owns a lab or vendor. Faust reads the codec from ``_options`` and
    rebuilds keys read back from a changelog with ``from_data``.
    """

    class _options:
        serializer = "raw"

    @classmethod
    def from_data(cls, data: Any, preferred_type: Any = None) -> str:
        return data.decode() if isinstance(data, bytes) else str(data)


@dataclass(frozen=True)
class Topics:
    orgs: Any
    ownership: Any
    contracts: Any
    data_shares: Any
    evaluations: Any
    exposure_updates: Any
    alerts: Any
    deadletter: Any


@dataclass(frozen=True)
class Tables:
    """Global (every worker holds all of it): orgs, competitors, ownership.
    Partitioned by vendor: contracts, alert_state, shipments, seen and shipments_seen (by input key).
    Partitioned by lab: exposure."""

    orgs: Any
    competitors: Any
    ownership: Any
    contracts: Any
    alert_state: Any
    shipments: Any
    seen: Any
    shipments_seen: ChunkedSeenTable
    exposure: Any


@dataclass(frozen=True)
class Worker:
    app: faust.App
    settings: Settings
    topics: Topics
    tables: Tables
    metrics: WorkerMetrics
    registry: CollectorRegistry
    cache: WorldCache
    policy: Policy
    # Partitions the watchdog (streams/watchdog.py) found stalled -> seconds; /livez reports them.
    stalled: dict[str, float] = field(default_factory=dict)
    # Table writes and sends not yet acknowledged by the broker (streams/durability.py).
    pending: PendingWrites = field(default_factory=PendingWrites)
    # Names this process in its world requests: an evaluator waits for other workers' writes, not its own.
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Re-evaluation requests and alerts: their own producer, without linger (streams/express.py).
    express: ExpressProducer = field(init=False)
    # The shipment lane's changelog writes: their own producer, with linger (streams/bulk.py).
    bulk: BulkProducer = field(init=False)
    # The shipment lane's records decoded and validated in a process of their own (streams/digest.py).
    digester: Digester = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "express", ExpressProducer(self.settings))  # frozen: set once, here
        object.__setattr__(self, "bulk", BulkProducer(self.app))
        object.__setattr__(self, "digester",
                           Digester(self.settings.shipment_digest_processes, self.metrics.lane_digest_failures))


def settled_partitions(app: Any, topic: str) -> frozenset[int]:
    """The partitions of ``topic`` this worker owns as active, or none while partitions move or its tables
    recover (what it would read may be incomplete, or about to be another worker's)."""
    if app.rebalancing or getattr(app, "in_recovery", False):
        return frozenset()
    return frozenset(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)


def advertised_url(settings: Settings) -> str:
    """Where other workers reach this one: table_route proxies a query to the owner of its partition."""
    if settings.advertised_url:
        return settings.advertised_url
    wildcard = settings.http_host in {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound
    host = socket.gethostname() if wildcard else settings.http_host
    return f"http://{host}:{settings.http_port}"


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> Worker:
    registry = registry if registry is not None else CollectorRegistry()
    tune_gc()
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
        store=settings.table_store,
        broker_credentials=faust_credentials(settings),
        Table=Table,  # rocksdb:// through streams.store
        # Stream partitions resumed only once seeked to their committed offsets (streams/recovery.py).
        TableManager=SeekFirstTableManager,
        datadir=str(settings.data_dir),
        autodiscover=False,
        web_enabled=True,
        web_host=settings.http_host,
        web_bind=settings.http_host,
        web_port=settings.http_port,
        canonical_url=advertised_url(settings),
        web_in_thread=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # No linger: the tables written here are the alert path's and other low-volume agents' (an
        # ownership write is awaited before its re-evaluation requests leave); the shipment lane's
        # writes linger on a producer of their own (streams/bulk.py).
        producer_linger_ms=PRODUCER_LINGER_MS,
        producer_partitioner=partition_for,  # Kafka's default, with each key's hash remembered
        processing_guarantee="at_least_once",
        table_standby_replicas=settings.standby_replicas,
        # A single event per re-evaluation must reach the alert topic quickly; commit often.
        broker_commit_interval=0.5,
        # How long a crashed worker's partitions wait before another worker (or its restart) takes them.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 5,
        logging_config=None,
    )
    # Before the topics below ask the app for its transport: fetches tuned for latency (streams/transport.py).
    app.transport = Transport(app.conf.broker_consumer, app)
    topics = _topics(app, settings)
    cache = WorldCache(limits_of(settings))
    tables = _tables(app, settings, cache)
    worker = Worker(app, settings, topics, tables, build_worker_metrics(registry, names.INPUT_TOPICS), registry, cache,
                    policy_of(settings))
    # Imported here: agents and pages close over the worker they are registered on.
    from streams.agents import register_agents
    from streams.watchdog import register_watchdog
    from streams.web import register_pages

    worker.bulk.route((tables.shipments, tables.shipments_seen))

    @app.on_before_shutdown.connect
    async def stop_producers(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await worker.express.stop()
        await worker.bulk.stop()
        worker.digester.stop()

    track_writes((getattr(tables, f.name) for f in fields(tables)), worker.pending)
    settle_before_rebalance(app, worker.pending, settings.session_timeout_s / 2)
    register_agents(worker)
    register_pages(worker)
    register_watchdog(worker, frozenset(stream_topics(settings)))

    async def load_routing_metadata() -> None:
        # table_route hashes keys with the producer's metadata of the changelog topic; fetch it now
        # rather than failing the first request that arrives before the first table write.
        producer: Any = app.producer
        await producer._ensure_producer().partitions_for(changelog_topic(settings, "exposure"))

    app.task(load_routing_metadata)
    return worker


GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Collect cycles less often than CPython's default (700, 10, 10).

    Decoding a batch allocates hundreds of thousands of short-lived objects; at the default thresholds
    the collector ran so often, walking every table entry the worker holds, that it more than doubled
    the cost of decoding (profiled in bench/, docs/performance.md). Start-up objects are frozen out of
    the collector's reach too: they live as long as the process.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _raw_topic(app: faust.App, name: str, partitions: int) -> Any:
    # Raw bytes in and out: decoding is ours, so a record that fails to decode reaches the
    # dead-letter topic byte for byte instead of crashing Faust's deserializer.
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                     partitions=partitions)


def _topics(app: faust.App, settings: Settings) -> Topics:
    n = settings.topic_partitions
    return Topics(
        orgs=_raw_topic(app, names.TOPIC_ORGS, n),
        ownership=_raw_topic(app, names.TOPIC_OWNERSHIP, n),
        contracts=_raw_topic(app, names.TOPIC_CONTRACTS, n),
        data_shares=_raw_topic(app, names.TOPIC_DATA_SHARES, n),
        evaluations=_raw_topic(app, internal_topic(settings, "evaluations"), n),
        exposure_updates=_raw_topic(app, internal_topic(settings, "exposure-updates"), n),
        alerts=_raw_topic(app, names.TOPIC_ALERTS, n),
        deadletter=_raw_topic(app, names.TOPIC_DEADLETTER, n),
    )


def _tables(app: faust.App, settings: Settings, cache: WorldCache) -> Tables:
    n = settings.topic_partitions

    def table(name: str, *, by_key: bool = False) -> Any:
        # by_key: the changelog partition is the key's hash, which is the partition of the topic the
        # table is keyed like (vendor or lab), not the partition of whichever event is current.
        return app.Table(name, partitions=n, help=Tables.__doc__, use_partitioner=by_key, key_type=Utf8Key)

    def global_table(name: str) -> Any:
        # One changelog partition: every worker reads all of it anyway, a key's writes stay in one
        # order wherever they came from, and Faust's multi-partition global tables can loop in recovery.
        created = ObservedGlobalTable(app, name=name, partitions=1, use_partitioner=True, key_type=Utf8Key,
                                      beacon=app.tables.beacon, standby_buffer_size=1, recovery_buffer_size=1,
                                      is_global=True, help=Tables.__doc__)
        created.observer = lambda key, raw: cache.apply(name, key, raw)
        created.on_rebuild = lambda items: cache.rebuild(name, items)
        return app.tables.add(created)

    seen_chunks = ChunkedSeenTable(app, name="shipments-seen", partitions=n, key_type=Utf8Key,
                                   beacon=app.tables.beacon, help=Tables.__doc__,
                                   expires=settings.shipment_dedup_retention_s > 0)
    app.tables.add(seen_chunks)
    return Tables(
        orgs=global_table(world_cache.ORGS),
        competitors=global_table(world_cache.COMPETITORS),
        ownership=global_table(world_cache.OWNERSHIP),
        contracts=table("contracts", by_key=True),
        alert_state=table("alert-state", by_key=True),
        shipments=table("shipments", by_key=True),
        seen=table("seen"),
        shipments_seen=seen_chunks,
        exposure=table("exposure", by_key=True),
    )
