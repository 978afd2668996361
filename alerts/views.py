"""What ``vendorwatch alerts`` shows, as pure folds over records already read, and their text rendering.

``vendorwatch.alerts`` is the log of alert transitions; an alert is open when its latest transition
(highest ``sequence`` of its ``alert_id``) is firing. Redelivery records repeat an event under the same
id, so transitions are counted once per event id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.follow import KafkaRecord
from alerts.record import Delivery
from alerts.silences import Silence
from schemas.alert import Alert
from schemas.cloudevents import CloudEvent, decode_record
from schemas.errors import InvalidEvent
from schemas.registry import ALERT

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert event as read from the topic, with what is needed to publish it again."""

    event: CloudEvent
    alert: Alert
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def read_transition(record: KafkaRecord) -> AlertRecord | None:
    """The alert transition in ``record``; None for anything else (the dispatcher dead-letters those)."""
    headers = tuple(record.headers or ())
    try:
        event = decode_record(record.value, headers)
    except InvalidEvent:
        return None
    if event.type != ALERT or not isinstance(event.data, Alert):
        return None
    return AlertRecord(event, event.data, record.key, record.value, headers)


def unique(transitions: Iterable[AlertRecord]) -> list[AlertRecord]:
    """Each event once (the first record of it), in topic order."""
    seen: dict[str, AlertRecord] = {}
    for transition in transitions:
        seen.setdefault(transition.event.identity, transition)
    return list(seen.values())


def latest_by_alert(transitions: Iterable[AlertRecord]) -> dict[str, AlertRecord]:
    latest: dict[str, AlertRecord] = {}
    for t in transitions:
        current = latest.get(t.alert.alert_id)
        if current is None or t.alert.sequence >= current.alert.sequence:
            latest[t.alert.alert_id] = t
    return latest


def open_alerts(transitions: Iterable[AlertRecord], filters: Mapping[str, str | None]) -> list[Alert]:
    """Alerts whose latest transition is firing, matching every given filter (lab_id, vendor_id, severity)."""
    wanted = {name: value for name, value in filters.items() if value is not None}
    alerts = [t.alert for t in latest_by_alert(transitions).values() if t.alert.status.value == "firing"]
    alerts = [a for a in alerts if all(_label(a, n) == v for n, v in wanted.items())]
    return sorted(alerts, key=lambda a: (SEVERITY_RANK[a.severity.value], a.lab_id, a.vendor_id, a.competitor_id))


def transitions_of(transitions: Iterable[AlertRecord], alert_id: str) -> list[AlertRecord]:
    return sorted((t for t in transitions if t.alert.alert_id == alert_id), key=lambda t: t.alert.sequence)


def deliveries_of(deliveries: Iterable[Delivery], alert_id: str) -> list[Delivery]:
    return sorted((d for d in deliveries if d.alert_id == alert_id), key=lambda d: (d.sequence, d.receiver))


def _label(alert: Alert, name: str) -> str:
    value = getattr(alert, name)
    return str(getattr(value, "value", value))


# --- rendering ----------------------------------------------------------------------------------------


def when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    return ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
            for row in (headers, *rows)]


def alert_rows(alerts: Iterable[Alert]) -> list[list[str]]:
    return [[a.alert_id, a.severity.value, a.lab_id, a.vendor_id, a.competitor_id, a.transition.value,
             a.summary] for a in alerts]


ALERT_HEADERS = ("ALERT", "SEVERITY", "LAB", "VENDOR", "COMPETITOR", "LAST", "SUMMARY")


def show_lines(transitions: Sequence[AlertRecord], deliveries: Sequence[Delivery]) -> list[str]:
    """``vendorwatch alerts show``: the alert, its transitions, then each delivery with its attempts."""
    last = transitions[-1].alert
    lines = [f"alert {last.alert_id}: {last.status.value} {last.severity.value} "
             f"(lab {last.lab_id}, vendor {last.vendor_id}, competitor {last.competitor_id})", f"  {last.summary}",
             "", "transitions:"]
    rows = [[str(t.alert.sequence), t.alert.transition.value, t.alert.severity.value, t.alert.status.value,
             t.event.time.isoformat() if t.event.time else "-", t.event.id] for t in transitions]
    lines += ["  " + line for line in table(("SEQ", "TRANSITION", "SEVERITY", "STATUS", "TIME", "EVENT"), rows)]
    lines += ["", "deliveries:" if deliveries else "deliveries: none recorded by this dispatcher group"]
    for d in deliveries:
        lines += delivery_lines(d)
    return lines


def delivery_lines(d: Delivery) -> list[str]:
    again = " (redelivery)" if d.redelivery else ""
    head = f"  {d.receiver} <- {d.webhook_id}{again}: {d.status}, {len(d.attempts)} attempt(s)"
    if d.status == "pending":
        head += f", next at {when(d.due_at)}"
    if d.reason:
        head += f": {d.reason}"
    return [head, *(f"    {when(a.at)}  {a.result:<9}  {a.seconds:7.3f}s  {a.detail}" for a in d.attempts)]


def delivery_json(d: Delivery) -> dict[str, Any]:
    """A delivery without its body (the alert itself is in ``transitions``)."""
    return {"receiver": d.receiver, "webhook_id": d.webhook_id, "status": d.status, "reason": d.reason,
            "created_at": d.created_at, "due_at": d.due_at, "deadline": d.deadline, "redelivery": d.redelivery,
            "attempts": [{"at": a.at, "result": a.result, "detail": a.detail, "seconds": a.seconds}
                         for a in d.attempts]}


def matchers_text(matchers: Mapping[str, str | tuple[str, ...]]) -> str:
    return ",".join(f"{k}={v if isinstance(v, str) else '|'.join(v)}" for k, v in sorted(matchers.items()))


def silence_rows(silences: Iterable[Silence], now: float) -> list[list[str]]:
    return [[s.id, s.state(now), matchers_text(s.matchers), when(s.starts_at), when(s.ends_at), s.created_by,
             s.comment] for s in sorted(silences, key=lambda s: (s.ends_at, s.id))]


SILENCE_HEADERS = ("ID", "STATE", "MATCHERS", "STARTS", "ENDS", "BY", "COMMENT")
