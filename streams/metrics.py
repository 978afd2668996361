"""Worker metrics, registered on an injected registry (tests pass a fresh ``CollectorRegistry``).

Labels are bounded: topic names, event types from the contract, error kinds, severities, transitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class WorkerMetrics:
    events_consumed: Counter
    events_rejected: Counter
    events_duplicate: Counter
    processing_seconds: Histogram
    evaluations: Counter
    alert_transitions: Counter
    open_alerts: Gauge
    recovering: Gauge


def build_worker_metrics(registry: CollectorRegistry) -> WorkerMetrics:
    return WorkerMetrics(
        events_consumed=Counter(
            "vendorwatch_events_consumed", "Input events decoded and applied.", ["topic", "type"],
            registry=registry),
        events_rejected=Counter(
            "vendorwatch_events_rejected", "Input records sent to the dead-letter topic.", ["topic", "reason"],
            registry=registry),
        events_duplicate=Counter(
            "vendorwatch_events_duplicate", "Input events skipped as repeats of a seen source+id.", ["topic"],
            registry=registry),
        processing_seconds=Histogram(
            "vendorwatch_event_processing_seconds", "Time to apply one input event.", ["topic"],
            buckets=LATENCY_BUCKETS, registry=registry),
        evaluations=Counter(
            "vendorwatch_vendor_evaluations", "Vendor re-evaluations run.", registry=registry),
        alert_transitions=Counter(
            "vendorwatch_alert_transitions", "Alert lifecycle transitions emitted.", ["transition", "severity"],
            registry=registry),
        open_alerts=Gauge(
            "vendorwatch_open_alerts", "Firing alerts held by this worker's partitions.", ["severity"],
            registry=registry),
        recovering=Gauge(
            "vendorwatch_table_recovery_in_progress", "1 while this worker recovers table state.",
            registry=registry),
    )
