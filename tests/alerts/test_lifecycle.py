"""The alert lifecycle reducer (``alerts.lifecycle``): one alert per transition, stable ids per episode."""

from __future__ import annotations

import json

import pytest

from alerts.lifecycle import AlertState, ConflictKey, Context, alert_id_for, step
from alerts.policy import Assessment
from schemas.alert import Alert, AlertStatus, Evidence, Exposure, Influence, Severity

KEY = ConflictKey("google", "scale-ai", "meta")
CONTEXT = Context(
    influence=Influence(economic_share=49, economic_share_low=49),
    exposure=Exposure(annual_value_usd=200_000_000),
    evidence=(Evidence(source="urn:test", id="e-1", type="vendorwatch.ownership.stated.v1"),),
)
LEVELS = {"-": None, "L": Severity.LOW, "M": Severity.MEDIUM, "H": Severity.HIGH, "C": Severity.CRITICAL}


def assessment(severity: Severity | None, provisional: bool = False) -> Assessment | None:
    if severity is None:
        return None
    return Assessment(severity=severity, reasons=(f"{severity.value} because",), provisional=provisional)


def run(script: str, state: AlertState | None = None) -> tuple[AlertState | None, list[Alert | None]]:
    """Feed one assessment per character (``-`` none, ``L``/``M``/``H``/``C``); the alert after each."""
    produced = []
    for level in script:
        state, alert = step(state, assessment(LEVELS[level]), KEY, CONTEXT)
        produced.append(alert)
    return state, produced


def transitions(alerts: list[Alert | None]) -> list[str]:
    return [f"{a.transition.value}:{a.severity.value}" if a else "-" for a in alerts]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param("-", ["-"], id="nothing"),
        pytest.param("H", ["opened:high"], id="open"),
        pytest.param("HH", ["opened:high", "-"], id="unchanged-no-repeat"),
        pytest.param("LMHC", ["opened:low", "escalated:medium", "escalated:high", "escalated:critical"],
                     id="escalate-step-by-step"),
        pytest.param("CL", ["opened:critical", "deescalated:low"], id="deescalate"),
        pytest.param("H-", ["opened:high", "resolved:high"], id="resolve-keeps-last-severity"),
        pytest.param("H--", ["opened:high", "resolved:high", "-"], id="resolved-stays-quiet"),
        pytest.param("H-M", ["opened:high", "resolved:high", "opened:medium"], id="reopen"),
        pytest.param("LCCHH-", ["opened:low", "escalated:critical", "-", "deescalated:high", "-", "resolved:high"],
                     id="full-episode"),
    ],
)
def test_transitions(script: str, expected: list[str]) -> None:
    _, alerts = run(script)
    assert transitions(alerts) == expected


def test_an_episode_keeps_one_alert_id_and_counts_up() -> None:
    _, alerts = run("LMMCH-")
    emitted = [a for a in alerts if a]
    assert {a.alert_id for a in emitted} == {alert_id_for(KEY, 1)}
    assert [a.sequence for a in emitted] == [1, 2, 3, 4, 5]
    assert [a.status for a in emitted] == [AlertStatus.FIRING] * 4 + [AlertStatus.RESOLVED]


def test_reopening_starts_a_new_episode_with_a_new_id() -> None:
    state, alerts = run("H-H")
    first, resolved, reopened = alerts
    assert first and resolved and reopened
    assert resolved.alert_id == first.alert_id
    assert reopened.alert_id != first.alert_id
    assert reopened.alert_id == alert_id_for(KEY, 2)
    assert reopened.sequence == 1
    assert state is not None and state.episode == 2


def test_previous_severity_is_reported() -> None:
    _, alerts = run("LH-")
    assert [a.previous_severity if a else None for a in alerts] == [None, Severity.LOW, Severity.HIGH]


def test_alert_id_is_deterministic_and_distinct_per_conflict() -> None:
    assert alert_id_for(KEY, 1) == alert_id_for(ConflictKey("google", "scale-ai", "meta"), 1)
    assert alert_id_for(KEY, 1).startswith("vwa_")
    others = {
        alert_id_for(ConflictKey("microsoft", "scale-ai", "meta"), 1),
        alert_id_for(ConflictKey("google", "turing", "meta"), 1),
        alert_id_for(ConflictKey("google", "scale-ai", "openai"), 1),
        alert_id_for(KEY, 2),
    }
    assert alert_id_for(KEY, 1) not in others and len(others) == 4


def test_replaying_the_same_assessments_gives_the_same_alerts() -> None:
    assert run("LC-H")[1] == run("LC-H")[1]


def test_alert_carries_the_facts_and_the_assessment() -> None:
    _, alert = step(None, assessment(Severity.HIGH, provisional=True), KEY, CONTEXT)
    assert alert is not None
    assert (alert.lab_id, alert.vendor_id, alert.competitor_id) == ("google", "scale-ai", "meta")
    assert alert.provisional
    assert alert.reasons == ("high because",)
    assert alert.influence == CONTEXT.influence and alert.exposure == CONTEXT.exposure
    assert alert.evidence == CONTEXT.evidence
    assert "meta" in alert.summary and "scale-ai" in alert.summary and "$200,000,000/yr" in alert.summary


def test_state_survives_a_round_trip_through_json() -> None:
    state, _ = run("LH-M")
    assert state is not None
    restored = AlertState.from_json(json.loads(json.dumps(state.to_json())))
    assert restored == state
    assert (restored.episode, restored.sequence, restored.severity) == (2, 1, Severity.MEDIUM)
    # The restored state goes on exactly like the original.
    for level in (Severity.MEDIUM, Severity.HIGH, None):
        assert step(restored, assessment(level), KEY, CONTEXT) == step(state, assessment(level), KEY, CONTEXT)
