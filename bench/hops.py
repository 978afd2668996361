"""Where an alert's time goes: each hop of the alert path, from the timestamps the path leaves behind.

An injected ownership event is published (the benchmark notes the time), becomes a re-evaluation request
on the worker's internal evaluations topic (the record's timestamp, set as the worker sends it), an alert
on the alerts topic (likewise), a delivery the dispatcher attempts (the attempt's start, in its state
topic) and a webhook the receiver notes. Publish and arrival are clocked by the benchmark, the rest by
the processes that did the work, all on one machine's clock. The records are read back once the
latency run is over; parsing and the arithmetic are pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts.record import Delivery
from alerts.views import read_transition

HOPS = ("publish_to_request", "request_to_alert", "alert_to_post", "post_to_arrival")
"""The hops in path order; each sample is the time from one mark to the next, in milliseconds."""


@dataclass
class Marks:
    """When each injected event reached each point of the path (epoch seconds), by the event's id."""

    requested: dict[str, float] = field(default_factory=dict)
    alerted: dict[str, float] = field(default_factory=dict)
    posted: dict[str, float] = field(default_factory=dict)
    _alert_events: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    """The alert event ids seen so far, each with the ids of the events it names as evidence."""

    def request(self, record: Any) -> None:
        """A record of the evaluations topic: the world changes it carries name their causes."""
        at = record.timestamp / 1000
        for cause in request_causes(record.value):
            _earliest(self.requested, cause, at)

    def alert(self, record: Any) -> None:
        """A record of the alerts topic."""
        transition = read_transition(record)
        if transition is None:
            return
        causes = [evidence.id for evidence in transition.alert.evidence]
        self._alert_events[transition.event.id] = causes
        for cause in causes:
            _earliest(self.alerted, cause, record.timestamp / 1000)

    def deliveries(self, deliveries: Iterable[Delivery]) -> None:
        """The dispatcher's deliveries (read after the alerts): the first attempt of each."""
        for delivery in deliveries:
            if not delivery.attempts:
                continue
            for cause in self._alert_events.get(delivery.webhook_id, ()):
                _earliest(self.posted, cause, delivery.attempts[0].at)


def request_causes(value: bytes | None) -> list[str]:
    """The ids of the events behind a re-evaluation request; none for a request of another kind or
    one this version cannot read (the benchmark only reads, it never fails a run for this)."""
    try:
        request = json.loads(value or b"")
    except ValueError:
        return []
    world = request.get("world") if isinstance(request, dict) else None
    if not isinstance(world, list):
        return []
    return [change["cause"]["id"] for change in world
            if isinstance(change, dict) and isinstance(change.get("cause"), dict) and "id" in change["cause"]]


def hop_samples(published: Mapping[str, float], arrived: Mapping[str, float], marks: Marks) -> dict[str, list[float]]:
    """Each hop's samples (ms, sorted) over the injected events every mark was found for."""
    samples: dict[str, list[float]] = {hop: [] for hop in HOPS}
    later_marks = (marks.requested, marks.alerted, marks.posted, arrived)
    for event_id, sent in published.items():
        times = [sent]
        for found in later_marks:
            at = found.get(event_id)
            if at is None:
                break
            times.append(at)
        else:
            for hop, start, end in zip(HOPS, times, times[1:], strict=False):
                samples[hop].append((end - start) * 1000)
    return {hop: sorted(values) for hop, values in samples.items()}


def _earliest(marks: dict[str, float], event_id: str, at: float) -> None:
    # A world change goes to every evaluations partition, and an alert may be delivered more than once.
    if at < marks.get(event_id, float("inf")):
        marks[event_id] = at
