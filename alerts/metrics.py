"""Prometheus metrics of the dispatcher, registered on a registry the caller owns.

Labels are bounded sets only (receiver name and kind from the routing config, outcome, attempt result,
dead-letter reason): a URL, an alert id or an error message as a label would grow the series without
limit, and a URL or a routing key can be a credential.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

OUTCOMES = ("delivered", "failed", "expired", "silenced", "superseded")
"""How one alert's delivery to one receiver ended (alerts/record.py draws the statuses)."""
ATTEMPT_RESULTS = ("ok", "retryable", "permanent")
DEADLETTER_REASONS = ("undecodable", "failed", "expired")

# Per attempt: from a fast in-cluster receiver up to the default 15 s timeout.
_ATTEMPT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
# From the triggering event to the receiver's acknowledgement: seconds when all is well, up to the retry
# schedule's hours when a receiver was down.
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0, 36000.0, 100800.0)


@dataclass(frozen=True, slots=True)
class DispatcherMetrics:
    deliveries: Counter
    attempts: Counter
    attempt_seconds: Histogram
    deadletters: Counter
    pending: Gauge
    disabled: Gauge
    latency_seconds: Histogram
    retries_pending: Gauge
    consumer_lag: Gauge

    def attempt(self, receiver: str, receiver_kind: str, result: str, seconds: float) -> None:
        self.attempts.labels(receiver=receiver, receiver_kind=receiver_kind, result=result).inc()
        self.attempt_seconds.labels(receiver=receiver, receiver_kind=receiver_kind).observe(seconds)

    def delivery(self, receiver: str, receiver_kind: str, outcome: str) -> None:
        self.deliveries.labels(receiver=receiver, receiver_kind=receiver_kind, outcome=outcome).inc()

    def deadletter(self, reason: str) -> None:
        self.deadletters.labels(reason=reason).inc()

    def delivered(self, receiver_kind: str, body: str, acknowledged_at: float) -> None:
        """Observe the time from the alert's triggering event (its CloudEvent ``time``) to the receiver's ack."""
        happened = event_time(body)
        if happened is not None:
            self.latency_seconds.labels(receiver_kind=receiver_kind).observe(max(0.0, acknowledged_at - happened))

    def set_consumer_lag(self, lag: Mapping[str, int]) -> None:
        for topic, records in lag.items():
            self.consumer_lag.labels(topic=topic).set(records)


def event_time(body: str) -> float | None:
    """The ``time`` of a structured-mode CloudEvent as a Unix timestamp, or ``None`` when it has none."""
    try:
        value = json.loads(body).get("time")
        return datetime.fromisoformat(value).timestamp() if isinstance(value, str) else None
    except (ValueError, AttributeError):
        return None


def build_dispatcher_metrics(
    registry: CollectorRegistry, receivers: Mapping[str, str] | None = None
) -> DispatcherMetrics:
    """``receivers`` maps each configured receiver name to its kind; their series start at 0."""
    by_receiver = ("receiver", "receiver_kind")
    metrics = DispatcherMetrics(
        deliveries=Counter(
            "vendorwatch_alert_deliveries_total",
            "Alert deliveries to a receiver by how they ended (delivered, failed, expired, silenced, superseded).",
            (*by_receiver, "outcome"),
            registry=registry,
        ),
        attempts=Counter(
            "vendorwatch_alert_delivery_attempts_total",
            "HTTP attempts to deliver an alert, by result (ok, retryable, permanent).",
            (*by_receiver, "result"),
            registry=registry,
        ),
        attempt_seconds=Histogram(
            "vendorwatch_alert_delivery_seconds",
            "Duration of one delivery attempt.",
            by_receiver,
            buckets=_ATTEMPT_BUCKETS,
            registry=registry,
        ),
        deadletters=Counter(
            "vendorwatch_alert_deadletters_total",
            "Alert records dead-lettered by the dispatcher, by reason (undecodable, failed, expired).",
            ("reason",),
            registry=registry,
        ),
        pending=Gauge(
            "vendorwatch_alert_deliveries_pending",
            "Deliveries waiting for an attempt or a retry, per receiver.",
            ("receiver",),
            registry=registry,
        ),
        disabled=Gauge(
            "vendorwatch_alert_receiver_disabled",
            "1 while a receiver is disabled after a 410 Gone; 'vendorwatch alerts receiver enable' ends it.",
            ("receiver",),
            registry=registry,
        ),
        latency_seconds=Histogram(
            "vendorwatch_alert_delivery_latency_seconds",
            "From the alert's triggering event (its CloudEvent time) to the receiver's acknowledgement.",
            ("receiver_kind",),
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        ),
        retries_pending=Gauge(
            "vendorwatch_alert_retries_pending",
            "Deliveries waiting for a retry after at least one failed attempt, per receiver.",
            ("receiver",),
            registry=registry,
        ),
        consumer_lag=Gauge(
            "vendorwatch_consumer_lag_records",
            "Records in this process's assigned partitions not yet committed by its consumer group.",
            ("topic",),
            registry=registry,
        ),
    )
    _initialise(metrics, receivers or {})
    return metrics


def _initialise(metrics: DispatcherMetrics, receivers: Mapping[str, str]) -> None:
    # Series exist at 0 from start-up, so rate() and alert rules see the first failure as a change.
    for name, kind in receivers.items():
        for outcome in OUTCOMES:
            metrics.deliveries.labels(receiver=name, receiver_kind=kind, outcome=outcome)
        for result in ATTEMPT_RESULTS:
            metrics.attempts.labels(receiver=name, receiver_kind=kind, result=result)
        metrics.attempt_seconds.labels(receiver=name, receiver_kind=kind)
        metrics.pending.labels(receiver=name)
        metrics.retries_pending.labels(receiver=name)
        metrics.disabled.labels(receiver=name)
        metrics.latency_seconds.labels(receiver_kind=kind)
    for reason in DEADLETTER_REASONS:
        metrics.deadletters.labels(reason=reason)
