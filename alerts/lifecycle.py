"""The alert lifecycle as a pure reducer over per-(lab, vendor, competitor) state.

``step(state, assessment, context) -> (state', alert | None)``: one alert per transition, never a
repeat for unchanged severity. ``alert_id`` is derived from the conflict and its episode number, so a
re-run over the same events (after a crash, or a replay) yields the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from alerts.policy import Assessment
from schemas.alert import Alert, AlertStatus, Evidence, Exposure, Influence, Severity, Transition


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the lifecycle remembers about one conflict between events (stored in a changelogged table)."""

    alert_id: str
    episode: int
    sequence: int
    status: AlertStatus
    severity: Severity

    def to_json(self) -> dict[str, object]:
        return {
            "alert_id": self.alert_id,
            "episode": self.episode,
            "sequence": self.sequence,
            "status": self.status.value,
            "severity": self.severity.value,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> AlertState:
        return cls(
            alert_id=str(raw["alert_id"]),
            episode=int(str(raw["episode"])),
            sequence=int(str(raw["sequence"])),
            status=AlertStatus(str(raw["status"])),
            severity=Severity(str(raw["severity"])),
        )


@dataclass(frozen=True, slots=True)
class ConflictKey:
    lab_id: str
    vendor_id: str
    competitor_id: str


@dataclass(frozen=True, slots=True)
class Context:
    """What the alert carries besides the decision: the facts and the event that triggered it."""

    influence: Influence
    exposure: Exposure
    evidence: tuple[Evidence, ...]
    ended_because: tuple[str, ...] = ()
    """Why a conflict is over, carried as the resolved alert's reasons."""


def alert_id_for(key: ConflictKey, episode: int) -> str:
    digest = hashlib.sha256(f"{key.lab_id}/{key.vendor_id}/{key.competitor_id}/{episode}".encode()).hexdigest()
    return f"vwa_{digest[:24]}"


def step(
    state: AlertState | None, assessment: Assessment | None, key: ConflictKey, context: Context
) -> tuple[AlertState | None, Alert | None]:
    """Next state and the alert for the transition, if any."""
    firing = state is not None and state.status is AlertStatus.FIRING
    if assessment is None:
        if not firing:
            return state, None
        assert state is not None
        resolved = replace(state, status=AlertStatus.RESOLVED, sequence=state.sequence + 1)
        return resolved, _alert(resolved, Transition.RESOLVED, key, context, None, state.severity)
    if not firing:
        episode = 1 if state is None else state.episode + 1
        opened = AlertState(alert_id_for(key, episode), episode, 1, AlertStatus.FIRING, assessment.severity)
        return opened, _alert(opened, Transition.OPENED, key, context, assessment, None)
    assert state is not None
    if assessment.severity is state.severity:
        return state, None
    moved = Transition.ESCALATED if assessment.severity.rank > state.severity.rank else Transition.DEESCALATED
    new = replace(state, severity=assessment.severity, sequence=state.sequence + 1)
    return new, _alert(new, moved, key, context, assessment, state.severity)


def _alert(
    state: AlertState,
    transition: Transition,
    key: ConflictKey,
    context: Context,
    assessment: Assessment | None,
    previous: Severity | None,
) -> Alert:
    return Alert(
        alert_id=state.alert_id,
        sequence=state.sequence,
        status=state.status,
        transition=transition,
        severity=state.severity,
        previous_severity=previous,
        lab_id=key.lab_id,
        vendor_id=key.vendor_id,
        competitor_id=key.competitor_id,
        provisional=assessment.provisional if assessment else False,
        reasons=assessment.reasons if assessment else context.ended_because,
        influence=context.influence,
        exposure=context.exposure,
        evidence=context.evidence,
        summary=summarise(transition, state.severity, key, context, previous),
    )


def summarise(
    transition: Transition, severity: Severity, key: ConflictKey, context: Context, previous: Severity | None
) -> str:
    """One human sentence for the alert (EVENTS.md ``summary``)."""
    stake = _stake_phrase(context.influence)
    value = f"${context.exposure.annual_value_usd:,.0f}/yr"
    if transition is Transition.OPENED:
        return (f"{key.competitor_id} now reaches {key.vendor_id} ({stake}), where {key.lab_id} has {value} "
                f"at stake: {severity.value}.")
    if transition is Transition.RESOLVED:
        return f"{key.lab_id}'s conflict with {key.competitor_id} at {key.vendor_id} has ended."
    assert previous is not None
    return (f"{key.lab_id}'s conflict with {key.competitor_id} at {key.vendor_id} went from {previous.value} "
            f"to {severity.value} ({stake}, {value} at stake).")


def _stake_phrase(influence: Influence) -> str:
    parts = []
    if influence.economic_share:
        parts.append(f"{influence.economic_share:g}% economic")
    if influence.voting_share:
        parts.append(f"{influence.voting_share:g}% votes")
    if influence.board_seats:
        parts.append(f"{influence.board_seats} board seat(s)")
    if influence.people:
        parts.append(f"{len(influence.people)} person link(s)")
    return ", ".join(parts) or "influence through control rights"
