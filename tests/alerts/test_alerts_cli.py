"""``vendorwatch alerts`` without a broker: argument parsing, the open-alert fold and the rendering."""

from __future__ import annotations

import pytest

from alerts import views
from alerts.cli import CommandError, parse_duration, parse_matchers
from alerts.record import Attempt, Delivery, Source
from schemas import Alert, Exposure, Influence, encode_structured, new_event
from vendorwatch.cli import _parser


class Rec:
    def __init__(self, value: bytes | None, key: bytes | None = b"google", headers=()) -> None:
        self.value, self.key, self.headers = value, key, list(headers)


def transition(alert_id: str, sequence: int, transition: str = "opened", status: str = "firing",
               severity: str = "high", lab: str = "google", vendor: str = "scale-ai") -> views.AlertRecord:
    alert = Alert(alert_id=alert_id, sequence=sequence, status=status, transition=transition, severity=severity,
                  lab_id=lab, vendor_id=vendor, competitor_id="meta", influence=Influence(economic_share=30.0),
                  exposure=Exposure(annual_value_usd=1e6), summary="Meta holds 30% of Scale AI.")
    event = new_event(id=f"{alert_id}.{sequence}", source="vendorwatch/worker", type="vendorwatch.alert.v1",
                      data=alert)
    found = views.read_transition(Rec(encode_structured(event)))
    assert found is not None
    return found


def test_matchers_group_repeated_labels_into_alternatives() -> None:
    assert parse_matchers(["lab_id=google", "severity=high", "severity=critical", "severity=high"]) == {
        "lab_id": "google", "severity": ("high", "critical")}
    with pytest.raises(CommandError, match="LABEL=VALUE"):
        parse_matchers(["lab_id"])
    with pytest.raises(CommandError):
        parse_matchers(["lab_id="])


def test_durations_take_units_and_refuse_lists_and_garbage() -> None:
    assert parse_duration("2h") == 7200 and parse_duration("90s") == 90 and parse_duration("30m") == 1800
    for bad in ("2x", "1h,2h", "-5m"):
        with pytest.raises(CommandError):
            parse_duration(bad)


def test_open_alerts_fold_to_the_latest_transition_of_each_alert() -> None:
    log = [
        transition("ep-1", 1),
        transition("ep-2", 1, severity="medium", lab="openai"),
        transition("ep-1", 2, "escalated", severity="critical"),
        transition("ep-2", 2, "resolved", "resolved", severity="medium", lab="openai"),
        transition("ep-3", 1, severity="low", vendor="surge"),
        transition("ep-1", 2, "escalated", severity="critical"),  # a redelivery record: the same event again
    ]
    everything = views.open_alerts(views.unique(log), {})
    assert [(a.alert_id, a.severity.value, a.transition.value) for a in everything] == [
        ("ep-1", "critical", "escalated"), ("ep-3", "low", "opened")]
    assert [a.alert_id for a in views.open_alerts(log, {"vendor_id": "surge", "lab_id": None})] == ["ep-3"]
    assert [a.alert_id for a in views.open_alerts(log, {"severity": "critical"})] == ["ep-1"]
    assert views.open_alerts(log, {"lab_id": "openai"}) == []
    assert [t.alert.sequence for t in views.transitions_of(views.unique(log), "ep-1")] == [1, 2]


def test_records_that_are_not_alerts_are_skipped() -> None:
    assert views.read_transition(Rec(b"not json")) is None
    assert views.read_transition(Rec(None)) is None


def test_show_lists_transitions_and_each_delivery_with_its_attempts_without_the_body() -> None:
    log = [transition("ep-1", 1), transition("ep-1", 2, "resolved", "resolved")]
    tried = Delivery("oncall", "ep-1.1", {"alert_id": "ep-1", "sequence": "1"}, '{"secret-ish": 1}',
                     Source("vendorwatch.alerts", 0, 5), created_at=0, due_at=0, deadline=60, status="delivered",
                     attempts=(Attempt(0, "retryable", "webhook receiver answered 503", 0.01),
                               Attempt(5, "ok", "delivered", 0.02)))
    text = "\n".join(views.show_lines(log, [tried]))
    assert "alert ep-1: resolved" in text and "opened" in text and "resolved" in text
    assert "oncall <- ep-1.1: delivered, 2 attempt(s)" in text and "answered 503" in text
    assert "secret-ish" not in text and "body" not in views.delivery_json(tried)


def test_the_command_line_has_every_alerts_command() -> None:
    parser = _parser()
    for argv in (["alerts", "list", "--lab", "google", "--severity", "high", "--json"],
                 ["alerts", "show", "ep-1"],
                 ["alerts", "redeliver", "ep-1", "--receiver", "oncall"],
                 ["alerts", "silence", "add", "--match", "lab_id=google", "--for", "2h", "--comment", "x"],
                 ["alerts", "silence", "list", "--all"],
                 ["alerts", "silence", "expire", "abc"],
                 ["alerts", "receiver", "list"],
                 ["alerts", "receiver", "enable", "oncall"]):
        assert callable(parser.parse_args(argv).run)
    with pytest.raises(SystemExit):
        parser.parse_args(["alerts", "redeliver", "ep-1"])  # --receiver is required
