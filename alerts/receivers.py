"""What each kind of receiver gets for one alert transition: URL, headers and body, as pure functions.

- ``webhook``: Standard Webhooks 1.0, the alert CloudEvent as produced, signed with every secret.
- ``slack``: an incoming-webhook message, Block Kit sections a person can read at a glance.
- ``pagerduty``: Events API v2; ``dedup_key`` is the ``alert_id`` so every transition of one episode
  lands on one PagerDuty alert; ``trigger`` until ``resolve``.
- ``alertmanager``: API v2 ``POST /api/v2/alerts``; labels identify an alert there, so a severity change
  also ends the alert under the old severity. Firing alerts are re-sent while open (``resend``).

The one I/O function is ``alerts.delivery.post``; this module never touches the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.record import Delivery
from alerts.routing import Receiver
from alerts.signing import webhook_headers

ALERTNAME = "VendorCompetitorOverlap"
PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
SEVERITY_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                  "low": ":white_circle:"}
_JSON = {"content-type": "application/json"}
_SLACK_TEXT_MAX = 2900  # a section's text may hold 3000 characters
_PD_SUMMARY_MAX = 1024
_PD_DEDUP_MAX = 255


@dataclass(frozen=True, slots=True)
class Outgoing:
    url: str = field(repr=False)
    content: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)


def build(receiver: Receiver, delivery: Delivery, now: float) -> Outgoing:
    """The request delivering ``delivery`` to ``receiver`` at time ``now``."""
    if receiver.kind == "webhook":
        body = delivery.body.encode()
        secrets = tuple(s.get_secret_value() for s in receiver.config.secrets)
        return Outgoing(receiver.url, body, webhook_headers(secrets, delivery.webhook_id, int(now), body))
    event = json.loads(delivery.body)
    if receiver.kind == "slack":
        return Outgoing(receiver.url, _dump(slack_message(event)), dict(_JSON))
    if receiver.kind == "pagerduty":
        key = receiver.config.routing_key
        assert key is not None  # routing validation requires it
        return Outgoing(receiver.url, _dump(pagerduty_event(event, key.get_secret_value())), dict(_JSON))
    return alertmanager_request(receiver, [event], now)


def alertmanager_request(receiver: Receiver, events: list[Mapping[str, Any]], now: float) -> Outgoing:
    url = receiver.url.rstrip("/") + "/api/v2/alerts"
    alerts = [a for e in events for a in alertmanager_alerts(e, now, receiver.config.resend_s)]
    return Outgoing(url, _dump(alerts), dict(_JSON))


def slack_message(event: Mapping[str, Any]) -> dict[str, Any]:
    a = event["data"]
    headline = f"{a['severity'].upper()} · {a['transition']}: {a['competitor_id']} → {a['vendor_id']}"
    facts = [("Severity", a["severity"]), ("Transition", a["transition"]), ("Lab", a["lab_id"]),
             ("Vendor", a["vendor_id"]), ("Competitor", a["competitor_id"]),
             ("Provisional", "yes" if a.get("provisional") else "no")]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"{SEVERITY_EMOJI.get(a['severity'], '')} {_clip(a['summary'])}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in facts]},
    ]
    paths = influence_paths(a)
    if paths:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip("*Paths*\n" + paths)}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"alert `{a['alert_id']}` · event `{event['id']}`"}]})
    # ``text`` is the fallback for notifications and clients that do not render blocks.
    return {"text": f"{headline}: {a['summary']}", "blocks": blocks}


def influence_paths(alert: Mapping[str, Any]) -> str:
    """One line per chain: ``meta —49% shareholding→ scale-ai``; people links after them."""
    lines = []
    for path in alert.get("influence", {}).get("paths", ()):
        hops = [path["steps"][0]["holder_id"]] if path.get("steps") else []
        for step in path.get("steps", ()):
            share = f"{step['share_high']:g}% " if step.get("share_high") is not None else ""
            hops.append(f"—{share}{'/'.join(step['interests'])}→ {step['subject_id']}")
        lines.append("• " + " ".join(hops))
    for person in alert.get("influence", {}).get("people", ()):
        lines.append(f"• {person['person_id']}: {'/'.join(person['vendor_roles'])} at the vendor, "
                     f"{'/'.join(person['competitor_roles'])} at {person['competitor_entity_id']}")
    return "\n".join(lines)


def pagerduty_event(event: Mapping[str, Any], routing_key: str) -> dict[str, Any]:
    a = event["data"]
    action = "resolve" if a["transition"] == "resolved" else "trigger"
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action,
                            "dedup_key": a["alert_id"][:_PD_DEDUP_MAX], "client": "vendorwatch"}
    if action == "trigger":
        body["payload"] = {
            "summary": a["summary"][:_PD_SUMMARY_MAX],
            "source": a["vendor_id"],
            "severity": PAGERDUTY_SEVERITY[a["severity"]],
            "component": a["competitor_id"],
            "group": a["lab_id"],
            "class": "vendor-competitor-overlap",
            "custom_details": a,
        }
        if event.get("time"):
            body["payload"]["timestamp"] = event["time"]
    return body


def alertmanager_alerts(event: Mapping[str, Any], now: float, resend_s: float) -> list[dict[str, Any]]:
    """The alerts to post for one transition: itself, plus the end of its old-severity twin on a change."""
    a = event["data"]
    started = event.get("time") or _rfc3339(now)
    # A firing alert ends a few resend intervals ahead, as Prometheus does, pushed forward by every re-send:
    # an alert whose dispatcher is gone resolves by itself instead of firing forever.
    ends = _rfc3339(now if a["status"] == "resolved" else now + 4 * resend_s)
    alerts = [_am_alert(a, a["severity"], started, ends)]
    previous = a.get("previous_severity")
    if previous and previous != a["severity"]:
        alerts.insert(0, _am_alert(a, previous, started, _rfc3339(now)))
    return alerts


def _am_alert(a: Mapping[str, Any], severity: str, starts: str, ends: str) -> dict[str, Any]:
    labels = {"alertname": ALERTNAME, "lab_id": a["lab_id"], "vendor_id": a["vendor_id"],
              "competitor_id": a["competitor_id"], "severity": severity, "alert_id": a["alert_id"]}
    annotations = {"summary": a["summary"], "transition": a["transition"], "sequence": str(a["sequence"])}
    return {"labels": labels, "annotations": annotations, "startsAt": starts, "endsAt": ends}


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _clip(text: str) -> str:
    return text if len(text) <= _SLACK_TEXT_MAX else text[: _SLACK_TEXT_MAX - 1] + "…"


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
