"""Explaining a vendor's influence (``streams.explain``): holders, shares, paths, people and severities."""

from __future__ import annotations

from datetime import date

from schemas.alert import Severity
from schemas.api import InfluenceExplanation
from schemas.events import InterestType, Sensitivity
from streams.contracts import ContractState, apply_contract_event
from streams.evaluate import World
from streams.explain import explain
from streams.influence import Limits
from tests.support.builders import graph, org, orgs, role, shareholding, signed, stated

TODAY = date(2025, 7, 1)
WORLD = World(
    orgs=orgs(org("meta"), org("meta-ventures", "meta"), org("alphabet"), org("google", "alphabet")),
    graph=graph(
        stated("holdco", "meta-ventures", shareholding(60)),
        stated("scale-ai", "holdco", shareholding(30)),
        stated("scale-ai", "alexandr-wang", role(InterestType.BOARD_MEMBER)),
        stated("meta", "alexandr-wang", role(InterestType.SENIOR_MANAGING_OFFICIAL)),
    ),
    competitors={"google": ("meta", "openai"), "xai": ("meta",)},
)


def contracts(*events) -> dict[str, ContractState]:
    result: dict[str, ContractState] = {}
    for event in events:
        result = apply_contract_event(result, event)
    return result


def test_explains_holders_paths_people_and_severity_per_lab() -> None:
    found = explain("scale-ai", WORLD, contracts(signed("g-1", sensitivity=Sensitivity.RESTRICTED)), as_of=TODAY)
    assert isinstance(found, InfluenceExplanation)
    meta, openai = found.competitors
    assert (meta.competitor_id, meta.group_id) == ("meta", "meta")
    assert meta.holder_ids == ("alexandr-wang", "meta", "meta-ventures")
    assert meta.influence is not None and meta.influence.economic_share == 18
    assert [[s.holder_id for s in p.steps] for p in meta.influence.paths] == [["meta-ventures", "holdco"]]
    google, xai = meta.severities
    assert (google.lab_id, google.severity) == ("google", Severity.CRITICAL)  # person link, restricted data
    assert any("person link" in r for r in google.reasons)
    assert (xai.lab_id, xai.severity) == ("xai", None)
    assert "no active contract" in xai.reasons[0]
    assert (openai.competitor_id, openai.influence, openai.severities[0].severity) == ("openai", None, None)


def test_one_lab_only_and_the_limits_are_reported() -> None:
    found = explain("scale-ai", WORLD, {}, lab_id="xai", as_of=TODAY, limits=Limits(max_depth=1))
    assert [c.competitor_id for c in found.competitors] == ["meta"]
    assert found.max_depth == 1
    influence = found.competitors[0].influence
    assert influence is not None and influence.paths == ()  # the two-step chain is beyond depth 1
    assert found.model_dump(mode="json")["vendor_id"] == "scale-ai"
