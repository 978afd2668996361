"""Worker metrics, registered on an injected registry (tests pass a fresh ``CollectorRegistry``).

Labels are bounded: topic names, event types from the contract, error kinds, severities, transitions, and
the lab, vendor and competitor ids of the exposure gauge (bounded by the orgs declared, as ops asked for
them by name). Never a URL or free-form text. Series whose label values are known at start-up exist at 0
from then on, so ``rate()`` and the alert rules see the first rejection as a change.

The gauges that describe state (open alerts, conflicted exposure, consumer lag) are recomputed from the
tables and the consumer by a timer, so they are right after a restart or a rebalance too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.alert import Severity, Transition
from streams.world_cache import GLOBAL_TABLES

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LANE_BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
"""Records per shipment-lane batch: a few at a light load, up to the batch size when the lane is behind."""
WORLD_READ_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Up to the evaluator's 10 s wait (``streams.world_requests.READ_TIMEOUT_S``)."""
REJECT_KINDS = ("envelope", "unknown_type", "data", "invalid", "internal")
"""``InvalidEvent.kind`` values (schemas/errors.py) and ``internal`` for a bug while applying an event."""

ExposureKey = tuple[str, str, str, str]
"""(lab, vendor, competitor, severity)"""


@dataclass(frozen=True)
class WorkerMetrics:
    events_consumed: Counter
    events_rejected: Counter
    events_duplicate: Counter
    processing_seconds: Histogram
    evaluations: Counter
    early_evaluations: Counter
    alert_transitions: Counter
    open_alerts: Gauge
    recovering: Gauge
    conflicted_exposure: Gauge
    consumer_lag: Gauge
    lane_buffered: Gauge
    lane_batch_records: Histogram
    lane_digest_failures: Counter
    dedup_index_identities: Gauge
    dedup_expired: Counter
    world_read_timeouts: Counter
    world_read_wait: Histogram

    def set_conflicted_exposure(self, values: Mapping[ExposureKey, float]) -> None:
        """Replace every series: a conflict that ended must disappear, not stay at its last value."""
        self.conflicted_exposure.clear()
        for (lab, vendor, competitor, severity), usd in values.items():
            self.conflicted_exposure.labels(lab=lab, vendor=vendor, competitor=competitor,
                                            severity=severity).set(usd)

    def set_consumer_lag(self, lag: Mapping[str, int]) -> None:
        self.consumer_lag.clear()
        for topic, records in lag.items():
            self.consumer_lag.labels(topic=topic).set(records)


def build_worker_metrics(registry: CollectorRegistry, input_topics: Iterable[str] = ()) -> WorkerMetrics:
    """``input_topics``: their per-topic series start at 0."""
    metrics = WorkerMetrics(
        events_consumed=Counter(
            "vendorwatch_events_consumed_total", "Input events decoded and applied.", ["topic", "type"],
            registry=registry),
        events_rejected=Counter(
            "vendorwatch_events_rejected_total", "Input records sent to the dead-letter topic, by error kind.",
            ["topic", "reason"], registry=registry),
        events_duplicate=Counter(
            "vendorwatch_events_duplicate_total", "Input events skipped as repeats of a seen source+id.",
            ["topic"], registry=registry),
        processing_seconds=Histogram(
            "vendorwatch_event_processing_seconds", "Time to apply one input event.", ["topic"],
            buckets=LATENCY_BUCKETS, registry=registry),
        evaluations=Counter(
            "vendorwatch_vendor_evaluations_total", "Vendor re-evaluations run.", registry=registry),
        early_evaluations=Counter(
            "vendorwatch_early_evaluation_requests_total",
            "Re-evaluation requests the sending input agent evaluated at once (this worker owns their partition).",
            registry=registry),
        alert_transitions=Counter(
            "vendorwatch_alert_transitions_total", "Alert lifecycle transitions emitted.", ["transition", "severity"],
            registry=registry),
        open_alerts=Gauge(
            "vendorwatch_open_alerts", "Firing alerts held by this worker's partitions.", ["severity"],
            registry=registry),
        recovering=Gauge(
            "vendorwatch_table_recovery_in_progress", "1 while this worker recovers table state.",
            registry=registry),
        conflicted_exposure=Gauge(
            "vendorwatch_conflicted_exposure_usd",
            "Annual contract value (USD) a lab has at a vendor its competitor reaches, by the conflict's severity; "
            "for the labs of this worker's partitions.",
            ["lab", "vendor", "competitor", "severity"], registry=registry),
        consumer_lag=Gauge(
            "vendorwatch_consumer_lag_records",
            "Records in this process's assigned partitions not yet committed by its consumer group.",
            ["topic"], registry=registry),
        lane_buffered=Gauge(
            "vendorwatch_lane_buffered_records",
            "Shipment records fetched and waiting for the shipment lane's task; fetching pauses at the lane's "
            "capacity.", registry=registry),
        lane_batch_records=Histogram(
            "vendorwatch_lane_batch_records", "Records per batch the shipment lane applied.",
            buckets=LANE_BATCH_BUCKETS, registry=registry),
        lane_digest_failures=Counter(
            "vendorwatch_lane_digest_failures_total",
            "Fetched parts of the shipment stream the digest process did not digest (it died or was stopped): "
            "the worker digested them itself and started another process.", registry=registry),
        dedup_index_identities=Gauge(
            "vendorwatch_dedup_index_identities",
            "Shipment events (source+id) this worker holds in memory to detect repeats, for its partitions of "
            "the shipment topic: one per shipment applied, kept for SHIPMENT_DEDUP_RETENTION_S (0: for ever).",
            registry=registry),
        dedup_expired=Counter(
            "vendorwatch_dedup_expired_total",
            "Shipment events (source+id) forgotten after SHIPMENT_DEDUP_RETENTION_S: a repeat of one is counted "
            "again.", registry=registry),
        world_read_timeouts=Counter(
            "vendorwatch_world_read_timeouts_total",
            "Evaluations that went ahead after waiting in vain for this worker's copy of a global table to "
            "read another worker's write (the evaluation may miss that write).", ["table"], registry=registry),
        world_read_wait=Histogram(
            "vendorwatch_world_read_wait_seconds",
            "How long an evaluation waited for this worker's copy of a global table to read a write another "
            "worker's request named (0 when it had read it already): how far the copy runs behind.",
            ["table"], buckets=WORLD_READ_BUCKETS, registry=registry),
    )
    _initialise(metrics, tuple(input_topics))
    return metrics


def _initialise(metrics: WorkerMetrics, topics: tuple[str, ...]) -> None:
    for table in GLOBAL_TABLES:
        metrics.world_read_timeouts.labels(table=table)
        metrics.world_read_wait.labels(table=table)
    for topic in topics:
        for kind in REJECT_KINDS:
            metrics.events_rejected.labels(topic=topic, reason=kind)
        metrics.events_duplicate.labels(topic=topic)
        metrics.processing_seconds.labels(topic=topic)
    for transition in Transition:
        for severity in Severity:
            metrics.alert_transitions.labels(transition=transition.value, severity=severity.value)
    for severity in Severity:
        metrics.open_alerts.labels(severity=severity.value)


def conflicted_exposure(exposure: Iterable[tuple[str, Mapping[str, Any] | None]]) -> dict[ExposureKey, float]:
    """Per (lab, vendor, competitor, severity): the lab's annual value at that vendor, from the exposure table
    (lab -> vendor -> view entry as ``schemas.api.VendorExposure`` JSON)."""
    values: dict[ExposureKey, float] = {}
    for lab_id, vendors in exposure:
        for vendor_id, entry in (vendors or {}).items():
            for conflict in entry.get("conflicts") or ():
                key = (lab_id, vendor_id, conflict["competitor_id"], conflict["severity"])
                values[key] = float(entry["annual_value_usd"])
    return values


def lag_by_topic(
    assigned: Iterable[tuple[str, int]],
    highwater: Mapping[tuple[str, int], int | None],
    committed: Mapping[tuple[str, int], int | None],
    topics: Iterable[str],
) -> dict[str, int]:
    """Records past the committed offset, summed per topic over the assigned partitions of ``topics``.

    A partition whose end or committed offset is not known yet (nothing fetched or committed since the
    assignment) is left out rather than guessed; every topic in ``topics`` still gets a value.
    """
    wanted = set(topics)
    lag = dict.fromkeys(sorted(wanted), 0)
    for tp in assigned:
        end, done = highwater.get(tp), committed.get(tp)
        if tp[0] in wanted and end is not None and done is not None:
            lag[tp[0]] += max(0, end - done)
    return lag
