"""Prometheus metrics of the dispatcher, registered on a registry the caller owns.

Labels are bounded sets only (receiver kind, outcome, attempt result, dead-letter reason): a URL, an
alert id or an error message as a label would grow the series without limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

OUTCOMES = ("delivered", "failed", "expired")
"""How one alert's delivery ended: delivered (after any retries), failed (permanent), expired (horizon)."""
ATTEMPT_RESULTS = ("ok", "retryable", "permanent")
DEADLETTER_REASONS = ("undecodable", "failed", "expired")

# Per attempt: from a fast in-cluster receiver up to the default 15 s timeout.
_ATTEMPT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)


@dataclass(frozen=True, slots=True)
class DispatcherMetrics:
    deliveries: Counter
    attempts: Counter
    attempt_seconds: Histogram
    deadletters: Counter

    def attempt(self, receiver_kind: str, result: str, seconds: float) -> None:
        self.attempts.labels(receiver_kind=receiver_kind, result=result).inc()
        self.attempt_seconds.labels(receiver_kind=receiver_kind).observe(seconds)

    def delivery(self, receiver_kind: str, outcome: str) -> None:
        self.deliveries.labels(receiver_kind=receiver_kind, outcome=outcome).inc()

    def deadletter(self, reason: str) -> None:
        self.deadletters.labels(reason=reason).inc()


def build_dispatcher_metrics(
    registry: CollectorRegistry, receiver_kinds: tuple[str, ...] = ("webhook",)
) -> DispatcherMetrics:
    metrics = DispatcherMetrics(
        deliveries=Counter(
            "vendorwatch_alert_deliveries_total",
            "Alert deliveries to a receiver by how they ended (delivered, failed, expired).",
            ("receiver_kind", "outcome"),
            registry=registry,
        ),
        attempts=Counter(
            "vendorwatch_alert_delivery_attempts_total",
            "HTTP attempts to deliver an alert, by result (ok, retryable, permanent).",
            ("receiver_kind", "result"),
            registry=registry,
        ),
        attempt_seconds=Histogram(
            "vendorwatch_alert_delivery_seconds",
            "Duration of one delivery attempt.",
            ("receiver_kind",),
            buckets=_ATTEMPT_BUCKETS,
            registry=registry,
        ),
        deadletters=Counter(
            "vendorwatch_alert_deadletters_total",
            "Alert records dead-lettered by the dispatcher, by reason (undecodable, failed, expired).",
            ("reason",),
            registry=registry,
        ),
    )
    _initialise(metrics, receiver_kinds)
    return metrics


def _initialise(metrics: DispatcherMetrics, receiver_kinds: tuple[str, ...]) -> None:
    # Series exist at 0 from start-up, so rate() and alert rules see the first failure as a change.
    for kind in receiver_kinds:
        for outcome in OUTCOMES:
            metrics.deliveries.labels(receiver_kind=kind, outcome=outcome)
        for result in ATTEMPT_RESULTS:
            metrics.attempts.labels(receiver_kind=kind, result=result)
        metrics.attempt_seconds.labels(receiver_kind=kind)
    for reason in DEADLETTER_REASONS:
        metrics.deadletters.labels(reason=reason)
