"""The default severity policy (EVENTS.md), as a pure function of influence and exposure.

``assess`` answers: given how a competitor reaches a vendor and what a lab has at stake there, how bad is
it, and why. ``None`` means no conflict worth an alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.alert import Exposure, Influence, Severity
from schemas.events import Sensitivity


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds in percent of effective economic or voting share."""

    critical_share: float = 50.0
    high_share: float = 25.0
    medium_share: float = 10.0
    low_share: float = 5.0
    restricted_steps_up: bool = True


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Assessment:
    severity: Severity
    reasons: tuple[str, ...]
    provisional: bool


def assess(influence: Influence, exposure: Exposure, policy: Policy = DEFAULT_POLICY) -> Assessment | None:
    """Severity of one (lab, vendor, competitor) overlap, with the reasons a human can check."""
    base = _influence_severity(influence, policy)
    if base is None:
        return None
    severity, reasons = base
    if policy.restricted_steps_up and exposure.sensitivity is Sensitivity.RESTRICTED:
        stepped = severity.step_up()
        if stepped is not severity:
            reasons = (*reasons, f"restricted data at the vendor: {severity.value} -> {stepped.value}")
        severity = stepped
    return Assessment(severity=severity, reasons=reasons, provisional=influence.provisional)


def _influence_severity(influence: Influence, policy: Policy) -> tuple[Severity, tuple[str, ...]] | None:
    """The highest severity any single fact of the influence reaches, and every fact that reaches it."""
    share = max(influence.economic_share, influence.voting_share)
    facts: list[tuple[Severity, str]] = []
    if share >= policy.critical_share:
        facts.append((Severity.CRITICAL, f"control: {_share_text(influence)}"))
    elif share >= policy.high_share:
        facts.append((Severity.HIGH, _share_text(influence)))
    elif share >= policy.medium_share:
        facts.append((Severity.MEDIUM, _share_text(influence)))
    elif share >= policy.low_share:
        facts.append((Severity.LOW, _share_text(influence)))
    if influence.board_majority:
        facts.append((Severity.CRITICAL, "control: a majority of the board"))
    if influence.board_seats:
        facts.append((Severity.HIGH, f"{influence.board_seats} board seat(s)"))
    if influence.appointment_rights:
        facts.append((Severity.HIGH, "a right to appoint board members"))
    for link in influence.people:
        facts.append((Severity.HIGH, f"person link: {link.person_id} sits at the vendor and at "
                      f"{link.competitor_entity_id}"))
    if not facts:
        return None
    # Severity is a str enum: compare by rank, never by its text.
    top = max((severity for severity, _ in facts), key=lambda severity: severity.rank)
    return top, tuple(reason for severity, reason in facts if severity is top)


def _share_text(influence: Influence) -> str:
    parts = []
    if influence.economic_share:
        parts.append(f"{_range(influence.economic_share_low, influence.economic_share)} economic share")
    if influence.voting_share:
        parts.append(f"{_range(influence.voting_share_low, influence.voting_share)} voting share")
    return " and ".join(parts)


def _range(low: float, high: float) -> str:
    return f"{high:g}%" if low == high else f"{low:g}-{high:g}%"
