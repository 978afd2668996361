"""Why a vendor is (or is not) in conflict: every competitor's reach and the severity it leads to (pure).

Serves ``GET /v1/vendors/{vendor_id}/influence`` and ``vendorwatch explain LAB VENDOR``. It applies the
same influence walk and policy as the evaluator, without the alert state: the severities are what the
policy says now, with no hysteresis (an open alert may be held a level higher within the margin).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from alerts.policy import DEFAULT_POLICY, Policy, assess
from schemas.alert import Exposure, Influence
from schemas.api import CompetitorInfluence, InfluenceExplanation, LabSeverity
from streams.contracts import ContractState, lab_exposures
from streams.evaluate import World
from streams.influence import InfluenceWalk, Limits


def explain(
    vendor_id: str,
    world: World,
    contracts: Mapping[str, ContractState],
    *,
    lab_id: str | None = None,
    as_of: date | None,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits | None = None,
) -> InfluenceExplanation:
    """Every competitor of ``lab_id`` (of every lab when ``None``) and how it reaches ``vendor_id``."""
    limits = world.limits if limits is None else limits
    walk = InfluenceWalk(world.graph, world.orgs, as_of, limits)
    exposures = lab_exposures(contracts, as_of)
    rivals = _rivals(world, lab_id)
    competitors = tuple(
        _competitor(vendor_id, competitor_id, labs, walk, exposures, policy)
        for competitor_id, labs in sorted(rivals.items())
    )
    return InfluenceExplanation(
        vendor_id=vendor_id, as_of=as_of, max_depth=limits.max_depth, min_edge_share=limits.min_edge_share,
        announced_horizon_days=limits.announced_horizon_days, competitors=competitors,
    )


def _rivals(world: World, lab_id: str | None) -> dict[str, list[str]]:
    """competitor -> the labs that declared it (a lab's own group never counts as its competitor)."""
    labs = [lab_id] if lab_id is not None else sorted(world.competitors)
    rivals: dict[str, list[str]] = {}
    for lab in labs:
        for competitor_id in world.competitors.get(lab, ()):
            if not world.orgs.same_group(lab, competitor_id):
                rivals.setdefault(competitor_id, []).append(lab)
    return rivals


def _competitor(
    vendor_id: str,
    competitor_id: str,
    labs: list[str],
    walk: InfluenceWalk,
    exposures: Mapping[str, Exposure],
    policy: Policy,
) -> CompetitorInfluence:
    influence = walk.influence(vendor_id, competitor_id)
    return CompetitorInfluence(
        competitor_id=competitor_id,
        group_id=walk.group_of(competitor_id),
        holder_ids=holder_ids(influence) if influence else (),
        influence=influence,
        severities=tuple(_severity(vendor_id, lab, influence, exposures, policy) for lab in labs),
    )


def holder_ids(influence: Influence) -> tuple[str, ...]:
    """Who carries the influence: each path's top holder and each person and their post."""
    holders = {path.steps[0].holder_id for path in influence.paths}
    holders |= {p.person_id for p in influence.people} | {p.competitor_entity_id for p in influence.people}
    return tuple(sorted(holders))


def _severity(
    vendor_id: str, lab_id: str, influence: Influence | None, exposures: Mapping[str, Exposure], policy: Policy
) -> LabSeverity:
    exposure = exposures.get(lab_id)
    if exposure is None:
        return LabSeverity(lab_id=lab_id, severity=None, reasons=(f"{lab_id} has no active contract with {vendor_id}",))
    assessment = assess(influence, exposure, policy) if influence else None
    if assessment is None:
        return LabSeverity(lab_id=lab_id, severity=None, exposure=exposure,
                           reasons=("no influence that reaches an alert level",))
    return LabSeverity(lab_id=lab_id, severity=assessment.severity, reasons=assessment.reasons,
                       provisional=assessment.provisional, exposure=exposure)
