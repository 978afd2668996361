"""The default severity policy (EVENTS.md), as a pure function of influence and exposure.

``assess`` answers: given how a competitor reaches a vendor and what a lab has at stake there, how bad is
it, and why. ``None`` means no conflict worth an alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.alert import SEVERITY_ORDER, Exposure, Influence, Severity
from schemas.events import Sensitivity


@dataclass(frozen=True, slots=True)
class Policy:
    """Thresholds in percent of effective economic or voting share."""

    critical_share: float = 50.0
    high_share: float = 25.0
    medium_share: float = 10.0
    low_share: float = 5.0
    restricted_steps_up: bool = True
    hysteresis_margin: float = 1.0
    """Percentage points: a share that reached a level keeps it until it falls below threshold - margin."""

    def share_levels(self) -> tuple[tuple[Severity, float], ...]:
        return ((Severity.CRITICAL, self.critical_share), (Severity.HIGH, self.high_share),
                (Severity.MEDIUM, self.medium_share), (Severity.LOW, self.low_share))


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Assessment:
    severity: Severity
    reasons: tuple[str, ...]
    provisional: bool


def assess(
    influence: Influence, exposure: Exposure, policy: Policy = DEFAULT_POLICY, current: Severity | None = None
) -> Assessment | None:
    """Severity of one (lab, vendor, competitor) overlap, with the reasons a human can check.

    ``current`` is the severity of the conflict's firing alert, if any: share levels at or below it are
    kept until the share falls ``policy.hysteresis_margin`` points below their threshold, so a share
    wobbling around 25% does not open, escalate and de-escalate alerts on every wobble.
    """
    steps_up = policy.restricted_steps_up and exposure.sensitivity is Sensitivity.RESTRICTED
    base = _influence_severity(influence, policy, _held_share_level(current, steps_up))
    if base is None:
        return None
    severity, reasons = base
    if steps_up:
        stepped = severity.step_up()
        if stepped is not severity:
            reasons = (*reasons, f"restricted data at the vendor: {severity.value} -> {stepped.value}")
        severity = stepped
    return Assessment(severity=severity, reasons=reasons, provisional=influence.provisional)


def _held_share_level(current: Severity | None, steps_up: bool) -> Severity | None:
    """The share level the current severity stands for, before the restricted-data step up."""
    if current is None or not steps_up:
        return current
    return None if current is Severity.LOW else SEVERITY_ORDER[current.rank - 1]


def share_severity(share: float, policy: Policy, held: Severity | None = None) -> tuple[Severity, float] | None:
    """The level a share reaches and its threshold; levels up to ``held`` get the hysteresis margin."""
    for severity, threshold in policy.share_levels():
        margin = policy.hysteresis_margin if held is not None and severity.rank <= held.rank else 0.0
        if share >= threshold - margin:
            return severity, threshold
    return None


def _influence_severity(
    influence: Influence, policy: Policy, held: Severity | None
) -> tuple[Severity, tuple[str, ...]] | None:
    """The highest severity any single fact of the influence reaches, and every fact that reaches it."""
    facts = _share_facts(influence, policy, held)
    if influence.group_member:
        facts.append((Severity.CRITICAL, "control: the vendor belongs to the competitor's group"))
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


def _share_facts(influence: Influence, policy: Policy, held: Severity | None) -> list[tuple[Severity, str]]:
    share = max(influence.economic_share, influence.voting_share)
    level = share_severity(share, policy, held)
    if level is None:
        return []
    severity, threshold = level
    text = _share_text(influence)
    if share < threshold:
        text += f" (kept at {severity.value}: within {policy.hysteresis_margin:g} points of {threshold:g}%)"
    return [(severity, f"control: {text}" if severity is Severity.CRITICAL else text)]


def _share_text(influence: Influence) -> str:
    parts = []
    if influence.economic_share:
        parts.append(f"{_range(influence.economic_share_low, influence.economic_share)} economic share")
    if influence.voting_share:
        parts.append(f"{_range(influence.voting_share_low, influence.voting_share)} voting share")
    return " and ".join(parts)


def _range(low: float, high: float) -> str:
    return f"{high:g}%" if low == high else f"{low:g}-{high:g}%"
