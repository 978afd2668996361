"""Re-evaluating one vendor: influence x exposure -> severity -> lifecycle step, for every lab at stake.

The one decision the evaluator agent calls. Pure: the agent reads the tables, calls ``evaluate_vendor``
and writes back what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from alerts.lifecycle import AlertState, ConflictKey, Context, step
from alerts.policy import DEFAULT_POLICY, Assessment, Policy, assess
from schemas.alert import SEVERITY_ORDER, Alert, AlertStatus, Evidence, Exposure, Influence, Severity
from schemas.api import ConflictView, VendorExposure
from streams.contracts import ContractState, lab_exposures, labs_of
from streams.graph import Graph, Orgs
from streams.influence import InfluenceWalk, Limits

KEY_SEPARATOR = "|"


@dataclass(frozen=True)
class World:
    """The globally replicated state: organisations, competitor sets, the ownership graph."""

    orgs: Orgs = field(default_factory=Orgs)
    graph: Graph = field(default_factory=Graph)
    competitors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    """How far influence is followed up the graph (settings ``influence_*``, ``announced_horizon_days``)."""


@dataclass(frozen=True)
class Trigger:
    """The event that asked for this evaluation: the alert's evidence and its point in time."""

    evidence: tuple[Evidence, ...]
    """The events that asked for this evaluation (several when requests were coalesced)."""
    at: datetime | None = None
    """When the triggering event happened (its CloudEvent ``time``)."""
    as_of: date | None = None
    """The day whose contracts and interests are in force; the agent passes today (processing time),
    since start and end dates describe the real world, not the order events arrive in."""


@dataclass(frozen=True)
class VendorEvaluation:
    states: dict[str, AlertState]
    alerts: list[Alert]
    exposures: dict[str, VendorExposure | None]
    """Per lab: its view entry for this vendor, or ``None`` when it has nothing left there."""


def state_key(lab_id: str, competitor_id: str) -> str:
    return f"{lab_id}{KEY_SEPARATOR}{competitor_id}"


def evaluate_vendor(
    vendor_id: str,
    contracts: Mapping[str, ContractState],
    world: World,
    states: Mapping[str, AlertState],
    trigger: Trigger,
    policy: Policy = DEFAULT_POLICY,
) -> VendorEvaluation:
    exposures = lab_exposures(contracts, trigger.as_of)
    findings = _findings(vendor_id, exposures, world, trigger, policy, _firing_severities(states))
    new_states = dict(states)
    alerts = []
    for key_text in sorted(set(findings) | set(states)):
        lab_id, competitor_id = key_text.split(KEY_SEPARATOR, 1)
        assessment, influence = findings.get(key_text, (None, Influence()))
        ended = () if assessment else _ended_because(lab_id, vendor_id, competitor_id, exposures, world)
        context = Context(influence, exposures.get(lab_id, Exposure()), trigger.evidence, ended)
        key = ConflictKey(lab_id, vendor_id, competitor_id)
        state, alert = step(states.get(key_text), assessment, key, context)
        if state is not None:
            new_states[key_text] = state
        if alert is not None:
            alerts.append(alert)
    views = {
        lab: _view(vendor_id, lab, exposures.get(lab), new_states, findings, trigger)
        for lab in labs_of(contracts) | {k.split(KEY_SEPARATOR, 1)[0] for k in states}
    }
    return VendorEvaluation(states=new_states, alerts=alerts, exposures=views)


def _ended_because(
    lab_id: str, vendor_id: str, competitor_id: str, exposures: Mapping[str, Exposure], world: World
) -> tuple[str, ...]:
    if lab_id not in exposures:
        return (f"{lab_id} has no active contract with {vendor_id}",)
    if competitor_id not in world.competitors.get(lab_id, ()):
        return (f"{competitor_id} is no longer among {lab_id}'s competitors",)
    return (f"{competitor_id} no longer reaches {vendor_id} enough for an alert",)


def _firing_severities(states: Mapping[str, AlertState]) -> dict[str, Severity]:
    return {key: s.severity for key, s in states.items() if s.status is AlertStatus.FIRING}


def _findings(
    vendor_id: str,
    exposures: Mapping[str, Exposure],
    world: World,
    trigger: Trigger,
    policy: Policy,
    current: Mapping[str, Severity],
) -> dict[str, tuple[Assessment, Influence]]:
    walk = InfluenceWalk(world.graph, world.orgs, trigger.as_of, world.limits)
    by_competitor: dict[str, Influence | None] = {}
    found = {}
    for lab_id, exposure in exposures.items():
        for competitor_id in world.competitors.get(lab_id, ()):
            # A lab is never alerted about itself or its own group.
            if world.orgs.same_group(lab_id, competitor_id):
                continue
            if competitor_id not in by_competitor:
                by_competitor[competitor_id] = walk.influence(vendor_id, competitor_id)
            influence = by_competitor[competitor_id]
            if influence is None:
                continue
            key = state_key(lab_id, competitor_id)
            assessment = assess(influence, exposure, policy, current.get(key))
            if assessment is not None:
                found[key] = (assessment, influence)
    return found


def _view(
    vendor_id: str,
    lab_id: str,
    exposure: Exposure | None,
    states: Mapping[str, AlertState],
    findings: Mapping[str, tuple[Assessment, Influence]],
    trigger: Trigger,
) -> VendorExposure | None:
    if exposure is None:
        return None
    conflicts = []
    for key_text, state in sorted(states.items()):
        if not key_text.startswith(lab_id + KEY_SEPARATOR) or state.status is not AlertStatus.FIRING:
            continue
        assessment = findings[key_text][0]
        conflicts.append(ConflictView(
            competitor_id=key_text.split(KEY_SEPARATOR, 1)[1],
            severity=state.severity,
            alert_id=state.alert_id,
            provisional=assessment.provisional,
            reasons=assessment.reasons,
        ))
    return VendorExposure(
        vendor_id=vendor_id,
        annual_value_usd=exposure.annual_value_usd,
        data_classes=exposure.data_classes,
        sensitivity=exposure.sensitivity,
        contract_ids=exposure.contract_ids,
        conflicts=tuple(conflicts),
        updated_at=trigger.at,
    )


def count_open(states_by_vendor: Mapping[str, Mapping[str, AlertState]]) -> dict[str, int]:
    """Firing alerts per severity, every severity present (a gauge should read 0, not vanish)."""
    counts = {severity.value: 0 for severity in SEVERITY_ORDER}
    for states in states_by_vendor.values():
        for state in states.values():
            if state.status is AlertStatus.FIRING:
                counts[state.severity.value] += 1
    return counts
