"""``vendorwatch explain LAB VENDOR``: the worker's influence explanation, as text a human can check."""

from __future__ import annotations

from schemas.alert import Influence, InfluencePath
from schemas.api import CompetitorInfluence, InfluenceExplanation


def render(explanation: InfluenceExplanation, lab_id: str) -> list[str]:
    lines = [f"{explanation.vendor_id}: influence as of {explanation.as_of} "
             f"(depth <= {explanation.max_depth}, edges >= {explanation.min_edge_share:g}%)"]
    reaching = [c for c in explanation.competitors if c.influence is not None]
    if not reaching:
        lines.append(f"  none of {lab_id}'s competitors reaches {explanation.vendor_id}")
    for competitor in reaching:
        lines.extend(_competitor(competitor, lab_id))
    return lines


def _competitor(competitor: CompetitorInfluence, lab_id: str) -> list[str]:
    assert competitor.influence is not None
    verdicts = [s for s in competitor.severities if s.lab_id == lab_id]
    verdict = verdicts[0].severity.value if verdicts and verdicts[0].severity else "no alert"
    lines = [f"- {competitor.competitor_id} (group {competitor.group_id}) -> {verdict}",
             f"    {_figures(competitor.influence)}"]
    lines.extend(f"    path: {_path(path)}" for path in competitor.influence.paths)
    lines.extend(
        f"    person: {p.person_id} ({', '.join(r.value for r in p.vendor_roles)}) also at "
        f"{p.competitor_entity_id} ({', '.join(r.value for r in p.competitor_roles)})"
        for p in competitor.influence.people
    )
    for severity in verdicts:
        lines.extend(f"    because: {reason}" for reason in severity.reasons)
    return lines


def _figures(influence: Influence) -> str:
    parts = [f"economic {_range(influence.economic_share_low, influence.economic_share)}",
             f"voting {_range(influence.voting_share_low, influence.voting_share)}",
             f"board seats {influence.board_seats}"]
    if influence.board_majority:
        parts.append("board majority")
    if influence.appointment_rights:
        parts.append("appointment rights")
    if influence.provisional:
        parts.append("PROVISIONAL (announced deal)")
    return ", ".join(parts)


def _path(path: InfluencePath) -> str:
    steps = " -> ".join(
        f"{s.holder_id} [{', '.join(i.value for i in s.interests)}"
        + (f" {_range(s.share_low or 0, s.share_high)}" if s.share_high is not None else "") + "]"
        for s in path.steps
    )
    return f"{steps} -> {path.steps[-1].subject_id}: economic {path.economic_share:g}%, voting {path.voting_share:g}%"


def _range(low: float, high: float) -> str:
    return f"{high:g}%" if low == high else f"{low:g}-{high:g}%"
