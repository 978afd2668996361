"""What each receiver kind is sent for one alert transition."""

from __future__ import annotations

import base64
import json
import time

from pydantic import SecretStr
from standardwebhooks import Webhook

from alerts.receivers import build, pagerduty_event, slack_message
from alerts.record import Delivery, Source
from alerts.routing import Receiver, ReceiverConfig
from schemas import Alert, Exposure, Influence, encode_structured, new_event
from schemas.alert import InfluencePath, PathStep

OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()


def event(transition: str = "opened", status: str = "firing", severity: str = "critical", previous=None):
    path = InfluencePath(steps=(PathStep(holder_id="meta", subject_id="scale-ai", interests=("shareholding",),
                                         share_low=49.0, share_high=49.0),), economic_share=49.0)
    alert = Alert(alert_id="ep-1", sequence=2, status=status, transition=transition, severity=severity,
                  previous_severity=previous, lab_id="google", vendor_id="scale-ai", competitor_id="meta",
                  influence=Influence(economic_share=49.0, paths=(path,)),
                  exposure=Exposure(annual_value_usd=1e6), summary="Meta holds 49% of Scale AI.")
    return new_event(id="evt-9", source="vendorwatch/test", type="vendorwatch.alert.v1", data=alert)


def delivery(ev) -> Delivery:
    return Delivery("r", ev.id, {"alert_id": "ep-1"}, encode_structured(ev).decode(), Source("t", 0, 1),
                    created_at=0, due_at=0, deadline=1)


def receiver(kind: str, **cfg) -> Receiver:
    return Receiver("r", ReceiverConfig(kind=kind, **cfg), timeout_s=15, horizon_s=60)


def test_webhook_signs_with_every_secret_during_rotation() -> None:
    r = receiver("webhook", url=SecretStr("https://h.example.com/x"), secrets=(SecretStr(OLD), SecretStr(NEW)))
    d = delivery(event())
    out = build(r, d, now=time.time())  # the library refuses timestamps far from now
    assert out.content == d.body.encode()
    assert len(out.headers["webhook-signature"].split(" ")) == 2
    for secret in (OLD, NEW):  # a receiver on either secret verifies with the reference library
        assert Webhook(secret).verify(out.content, out.headers)["id"] == "evt-9"


def test_pagerduty_trigger_and_resolve_share_the_dedup_key() -> None:
    trigger = pagerduty_event(event().to_json(), "rk")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "ep-1"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["summary"]
    high = pagerduty_event(event(severity="high").to_json(), "rk")["payload"]["severity"]
    medium = pagerduty_event(event(severity="medium").to_json(), "rk")["payload"]["severity"]
    low = pagerduty_event(event(severity="low").to_json(), "rk")["payload"]["severity"]
    assert (high, medium, low) == ("error", "warning", "info")
    resolve = pagerduty_event(event("resolved", "resolved").to_json(), "rk")
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == "ep-1" and "payload" not in resolve
    assert pagerduty_event(event("deescalated", severity="high").to_json(), "rk")["event_action"] == "trigger"


def test_slack_blocks_carry_summary_severity_parties_and_paths() -> None:
    message = slack_message(event().to_json())
    text = json.dumps(message)
    for part in ("Meta holds 49% of Scale AI.", "CRITICAL", "google", "scale-ai", "meta", "49% shareholding"):
        assert part in text
    assert message["blocks"][0]["type"] == "header"


def test_alertmanager_labels_ends_and_severity_change() -> None:
    r = receiver("alertmanager", url=SecretStr("http://127.0.0.1:19093/"))
    out = build(r, delivery(event("escalated", previous="high")), now=1_700_000_000)
    assert out.url == "http://127.0.0.1:19093/api/v2/alerts"
    old, new = json.loads(out.content)
    assert new["labels"] == {"alertname": "VendorCompetitorOverlap", "lab_id": "google", "vendor_id": "scale-ai",
                             "competitor_id": "meta", "severity": "critical", "alert_id": "ep-1"}
    assert old["labels"]["severity"] == "high" and old["endsAt"] == "2023-11-14T22:13:20Z"
    assert new["endsAt"] > old["endsAt"]  # firing: an end ahead, pushed forward by re-sends
    (resolved,) = json.loads(build(r, delivery(event("resolved", "resolved")), now=1_700_000_000).content)
    assert resolved["endsAt"] == "2023-11-14T22:13:20Z"
