"""Re-evaluating one vendor: influence x exposure -> severity -> lifecycle (``streams.evaluate``)."""

from __future__ import annotations

from datetime import date

from schemas.alert import AlertStatus, Evidence, Severity, Transition
from schemas.events import InterestType, Sensitivity
from streams.contracts import ContractState, apply_contract_event
from streams.evaluate import Trigger, World, evaluate_vendor, state_key
from streams.influence import Limits
from tests.support.builders import closed, graph, org, orgs, role, shareholding, signed, stated, terminated

WORLD = World(
    orgs=orgs(org("alphabet"), org("google", "alphabet"), org("deepmind", "google"), org("meta")),
    graph=graph(stated("scale-ai", "meta", shareholding(30))),
    competitors={"google": ("meta",), "meta": ("google",)},
)


def trigger(event_id: str = "e-1", as_of: date | None = None) -> Trigger:
    return Trigger(evidence=(Evidence(source="urn:test", id=event_id, type="vendorwatch.contract.signed.v1"),),
                   as_of=as_of)


def contracts(*events) -> dict[str, ContractState]:
    result: dict[str, ContractState] = {}
    for event in events:
        result = apply_contract_event(result, event)
    return result


def test_opens_an_alert_for_a_lab_at_stake() -> None:
    result = evaluate_vendor("scale-ai", contracts(signed("g-1")), WORLD, {}, trigger())
    [alert] = result.alerts
    assert (alert.lab_id, alert.vendor_id, alert.competitor_id) == ("google", "scale-ai", "meta")
    assert (alert.transition, alert.severity) == (Transition.OPENED, Severity.HIGH)
    assert alert.evidence == trigger().evidence
    assert result.states[state_key("google", "meta")].status is AlertStatus.FIRING
    view = result.exposures["google"]
    assert view is not None
    assert [c.competitor_id for c in view.conflicts] == ["meta"]


def test_restricted_contract_steps_severity_up() -> None:
    result = evaluate_vendor("scale-ai", contracts(signed("g-1", sensitivity=Sensitivity.RESTRICTED)), WORLD, {},
                             trigger())
    assert [a.severity for a in result.alerts] == [Severity.CRITICAL]


def test_no_contract_no_alert() -> None:
    result = evaluate_vendor("scale-ai", {}, WORLD, {}, trigger())
    assert result.alerts == [] and result.states == {} and result.exposures == {}


def test_a_lab_is_never_alerted_about_itself_or_its_subsidiaries() -> None:
    # Google declares its own parent and its own subsidiary as competitors (a data error) and they hold
    # a vendor Google contracts with: still no alert.
    world = World(
        orgs=WORLD.orgs,
        graph=graph(stated("scale-ai", "alphabet", shareholding(60)), stated("scale-ai", "deepmind", shareholding(30))),
        competitors={"google": ("alphabet", "deepmind", "google")},
    )
    result = evaluate_vendor("scale-ai", contracts(signed("g-1")), world, {}, trigger())
    assert result.alerts == []


def test_the_lab_own_stake_does_not_count_for_its_competitor() -> None:
    # Meta contracts with Scale AI, where Meta itself holds 30%: Meta's competitor Google has nothing there.
    result = evaluate_vendor("scale-ai", contracts(signed("m-1", lab_id="meta")), WORLD, {}, trigger())
    assert result.alerts == []


def test_resolves_when_the_contracts_end() -> None:
    signed_only = contracts(signed("g-1"))
    opened = evaluate_vendor("scale-ai", signed_only, WORLD, {}, trigger("e-1"))
    ended = contracts(signed("g-1"), terminated("g-1"))
    result = evaluate_vendor("scale-ai", ended, WORLD, opened.states, trigger("e-2"))
    [alert] = result.alerts
    assert alert.transition is Transition.RESOLVED
    assert alert.alert_id == opened.alerts[0].alert_id
    assert alert.evidence[0].id == "e-2"
    assert result.states[state_key("google", "meta")].status is AlertStatus.RESOLVED
    assert result.exposures == {"google": None}  # the lab's view entry for this vendor goes away


def test_resolves_when_the_contract_end_date_passes() -> None:
    dated = contracts(signed("g-1", end=date(2025, 6, 30)))
    opened = evaluate_vendor("scale-ai", dated, WORLD, {}, trigger(as_of=date(2025, 6, 30)))
    later = evaluate_vendor("scale-ai", dated, WORLD, opened.states, trigger(as_of=date(2025, 7, 1)))
    assert [a.transition for a in later.alerts] == [Transition.RESOLVED]


def test_resolves_when_the_stake_is_sold() -> None:
    opened = evaluate_vendor("scale-ai", contracts(signed("g-1")), WORLD, {}, trigger())
    sold = World(orgs=WORLD.orgs, graph=graph(stated("scale-ai", "meta", shareholding(30)), closed("scale-ai", "meta")),
                 competitors=WORLD.competitors)
    result = evaluate_vendor("scale-ai", contracts(signed("g-1")), sold, opened.states, trigger())
    assert [a.transition for a in result.alerts] == [Transition.RESOLVED]
    view = result.exposures["google"]
    assert view is not None and view.conflicts == ()  # still a vendor of Google's, no longer conflicted


def test_resolves_when_the_competitor_is_dropped() -> None:
    opened = evaluate_vendor("scale-ai", contracts(signed("g-1")), WORLD, {}, trigger())
    world = World(orgs=WORLD.orgs, graph=WORLD.graph, competitors={"google": ()})
    result = evaluate_vendor("scale-ai", contracts(signed("g-1")), world, opened.states, trigger())
    assert [a.transition for a in result.alerts] == [Transition.RESOLVED]


def test_same_situation_again_yields_nothing() -> None:
    first = evaluate_vendor("scale-ai", contracts(signed("g-1")), WORLD, {}, trigger())
    again = evaluate_vendor("scale-ai", contracts(signed("g-1")), WORLD, first.states, trigger("e-2"))
    assert again.alerts == []
    assert again.states == first.states


def test_escalates_when_a_person_link_and_restricted_data_arrive() -> None:
    low = World(orgs=WORLD.orgs, graph=graph(stated("scale-ai", "meta", shareholding(6))),
                competitors=WORLD.competitors)
    first = evaluate_vendor("scale-ai", contracts(signed("g-1")), low, {}, trigger())
    assert [a.severity for a in first.alerts] == [Severity.LOW]
    linked = World(
        orgs=WORLD.orgs,
        graph=graph(
            stated("scale-ai", "meta", shareholding(6)),
            stated("scale-ai", "pat", role(InterestType.BOARD_MEMBER)),
            stated("meta", "pat", role(InterestType.SENIOR_MANAGING_OFFICIAL)),
        ),
        competitors=WORLD.competitors,
    )
    restricted = contracts(signed("g-1", sensitivity=Sensitivity.RESTRICTED))
    result = evaluate_vendor("scale-ai", restricted, linked, first.states, trigger())
    [alert] = result.alerts
    assert (alert.transition, alert.previous_severity, alert.severity) == (
        Transition.ESCALATED, Severity.LOW, Severity.CRITICAL)
    assert alert.alert_id == first.alerts[0].alert_id
    assert any("pat" in reason for reason in alert.reasons)


def test_every_lab_at_stake_is_evaluated() -> None:
    world = World(orgs=WORLD.orgs, graph=WORLD.graph, competitors={"google": ("meta",), "openai": ("meta",)})
    both = contracts(signed("g-1", lab_id="google"), signed("o-1", lab_id="openai"))
    result = evaluate_vendor("scale-ai", both, world, {}, trigger())
    assert sorted(a.lab_id for a in result.alerts) == ["google", "openai"]
    assert len({a.alert_id for a in result.alerts}) == 2


def test_a_share_wobbling_around_25_percent_does_not_flap() -> None:
    states: dict = {}
    transitions = []
    for i, share in enumerate((25.5, 24.5, 25.2, 24.1, 25.0)):
        world = World(orgs=WORLD.orgs, graph=graph(stated("scale-ai", "meta", shareholding(share))),
                      competitors=WORLD.competitors)
        result = evaluate_vendor("scale-ai", contracts(signed("g-1")), world, states, trigger(f"e-{i}"))
        states = result.states
        transitions += [(a.transition, a.severity) for a in result.alerts]
    assert transitions == [(Transition.OPENED, Severity.HIGH)]


def test_a_chain_through_a_holding_company_alerts() -> None:
    world = World(
        orgs=WORLD.orgs,
        graph=graph(stated("holdco", "meta", shareholding(60)), stated("scale-ai", "holdco", shareholding(30))),
        competitors=WORLD.competitors,
    )
    [alert] = evaluate_vendor("scale-ai", contracts(signed("g-1")), world, {}, trigger()).alerts
    assert alert.severity is Severity.MEDIUM
    assert [[s.holder_id for s in p.steps] for p in alert.influence.paths] == [["meta", "holdco"]]


def test_world_limits_reach_the_walk() -> None:
    chain = graph(stated("holdco", "meta", shareholding(60)), stated("scale-ai", "holdco", shareholding(30)))
    shallow = World(orgs=WORLD.orgs, graph=chain, competitors=WORLD.competitors, limits=Limits(max_depth=1))
    assert evaluate_vendor("scale-ai", contracts(signed("g-1")), shallow, {}, trigger()).alerts == []
