"""Which vendors a change re-evaluates (the agents' choice, mirrored by ``tests.support.fold``)."""

from __future__ import annotations

from itertools import count

import pytest
from pydantic import BaseModel

from schemas import registry as names
from schemas.alert import Alert, Evidence
from schemas.cloudevents import new_event
from schemas.events import CompetitorsDeclared, InterestType
from streams.changes import after_statement, reached_by
from streams.requests import WorldChange
from streams.state import vendors_by_lab
from streams.world_cache import COMPETITORS, ORGS, OWNERSHIP
from tests.support.builders import graph, org, orgs, role, shareholding, signed, stated, voting
from tests.support.fold import Fold

TYPES = {"CompetitorsDeclared": names.COMPETITORS_DECLARED, "ContractSigned": names.CONTRACT_SIGNED,
         "OwnershipStated": names.OWNERSHIP_STATED, "OrgDeclared": names.ORG_DECLARED}


class Feeder:
    def __init__(self) -> None:
        self.fold = Fold()
        self.ids = count(1)

    def __call__(self, data: BaseModel) -> list[Alert]:
        event = new_event(id=f"e-{next(self.ids)}", source="urn:test", data=data, type=TYPES[type(data).__name__])
        return self.fold.apply(event)


@pytest.fixture
def feed() -> Feeder:
    feeder = Feeder()
    feeder(CompetitorsDeclared(lab_id="google", competitors=("meta",)))
    feeder(signed("g-1"))
    return feeder


def test_a_new_parent_brings_its_subsidiarys_stake_into_the_group(feed: Feeder) -> None:
    assert feed(stated("scale-ai", "holdco", shareholding(30))) == []
    [alert] = feed(org("holdco", "meta"))
    assert (alert.competitor_id, alert.transition.value, alert.severity.value) == ("meta", "opened", "high")


def test_a_person_joining_the_competitor_reaches_the_vendor_they_sit_at(feed: Feeder) -> None:
    feed(stated("scale-ai", "pat", role(InterestType.BOARD_MEMBER)))
    alerts = feed(stated("meta", "pat", role(InterestType.SENIOR_MANAGING_OFFICIAL)))
    assert [(a.competitor_id, a.severity.value) for a in alerts] == [("meta", "high")]


def test_a_competitor_buying_a_holding_company_alerts_the_labs_at_its_vendors(feed: Feeder) -> None:
    assert feed(stated("scale-ai", "holdco", shareholding(30))) == []
    [alert] = feed(stated("holdco", "meta", shareholding(60), voting(60)))
    assert (alert.vendor_id, alert.competitor_id, alert.severity.value) == ("scale-ai", "meta", "high")


def test_control_of_an_entity_reaches_the_vendors_where_its_people_sit(feed: Feeder) -> None:
    feed(stated("scale-ai", "pat", role(InterestType.BOARD_MEMBER)))
    feed(stated("holdco", "pat", role(InterestType.SENIOR_MANAGING_OFFICIAL)))
    [alert] = feed(stated("holdco", "meta", voting(60)))
    assert (alert.vendor_id, alert.competitor_id, alert.severity.value) == ("scale-ai", "meta", "high")
    assert alert.influence.people[0].competitor_entity_id == "holdco"


def test_a_change_touches_only_what_lies_downstream() -> None:
    g = graph(
        stated("holdco", "meta", shareholding(60)),
        stated("scale-ai", "holdco", shareholding(30)),
        stated("turing", "scale-ai", shareholding(5)),
        stated("labelbox", "accel", shareholding(10)),
        stated("handshake", "pat", role(InterestType.BOARD_MEMBER)),
    )
    assert after_statement(g, stated("holdco", "meta", shareholding(60))) == {"holdco", "scale-ai", "turing"}
    assert after_statement(g, stated("labelbox", "accel", shareholding(10))) == {"labelbox"}


def test_people_at_a_changed_entity_bring_their_other_seats() -> None:
    g = graph(
        stated("scale-ai", "pat", role(InterestType.BOARD_MEMBER)),
        stated("holdco", "pat", role(InterestType.SENIOR_MANAGING_OFFICIAL)),
        stated("holdco", "meta", voting(60)),
        stated("labelbox", "sam", role(InterestType.BOARD_MEMBER)),
    )
    assert after_statement(g, stated("holdco", "meta", voting(60))) == {"holdco", "scale-ai"}


def test_announced_deals_reach_their_vendors_when_their_horizon_passes() -> None:
    from datetime import date

    from schemas.events import OwnershipStatus
    from streams.changes import expiring_between
    from tests.support.builders import graph

    announced = stated("holdco", "meta", shareholding(60)).model_copy(
        update={"status": OwnershipStatus.ANNOUNCED, "statement_date": date(2025, 1, 1)})
    g = graph(announced, stated("scale-ai", "holdco", shareholding(30)))
    # Expired from 2025-01-02 + 365 days on: the first day the walk ignores it.
    first_expired = date(2026, 1, 2)
    assert expiring_between(g, 365, date(2025, 12, 31), date(2026, 1, 1)) == set()
    assert expiring_between(g, 365, date(2026, 1, 1), first_expired) == {"holdco", "scale-ai"}
    assert expiring_between(g, 365, first_expired, date(2026, 1, 3)) == set(), "asked once, not every day"


def world_change(table: str, key: str, party: str | None = None) -> WorldChange:
    return WorldChange(table, key, Evidence(source="urn:test", id=f"{table}-{key}", type="t"), None, party)


def test_an_evaluator_reaches_through_a_stake_another_worker_wrote() -> None:
    # Worker A states Meta's hold on holdco; worker B, a moment before, holdco's stake in Scale. A's copy
    # lacks B's write, so A could not have named Scale; B's evaluator, once it has read A's write, does.
    on_a = graph(stated("holdco", "meta", shareholding(60)))
    on_b = graph(stated("scale-ai", "holdco", shareholding(30)), stated("holdco", "meta", shareholding(60)))
    change = world_change(OWNERSHIP, "holdco", "meta")
    assert reached_by(change, orgs(), on_a, lambda _: set()) == {"holdco"}
    assert reached_by(change, orgs(), on_b, lambda _: set()) == {"holdco", "scale-ai"}


def test_an_ownership_change_reaches_what_after_statement_reaches() -> None:
    g = graph(
        stated("scale-ai", "pat", role(InterestType.BOARD_MEMBER)),
        stated("holdco", "pat", role(InterestType.SENIOR_MANAGING_OFFICIAL)),
        stated("holdco", "meta", voting(60)),
        stated("turing", "holdco", shareholding(5)),
    )
    for statement in (stated("holdco", "meta", voting(60)), stated("holdco", "pat", role(InterestType.BOARD_MEMBER))):
        change = world_change(OWNERSHIP, statement.subject_id, statement.interested_party_id)
        assert reached_by(change, orgs(), g, lambda _: set()) == after_statement(g, statement)


def test_a_competitor_set_reaches_the_vendors_the_lab_contracts_with_and_an_org_its_group_too() -> None:
    contracted = {"google": {"scale-ai", "turing"}, "deepmind": {"labelbox"}}.get
    g = graph(stated("handshake", "deepmind", shareholding(20)))
    group = orgs(org("google"), org("deepmind", parent_id="google"))
    assert reached_by(world_change(COMPETITORS, "google"), group, g,
                      lambda lab: contracted(lab) or set()) == {"scale-ai", "turing"}
    assert reached_by(world_change(ORGS, "google"), group, g,
                      lambda lab: contracted(lab) or set()) == {"google", "deepmind", "handshake", "scale-ai", "turing"}
    assert reached_by(world_change(ORGS, "deepmind"), group, g,
                      lambda lab: contracted(lab) or set()) == {"deepmind", "handshake", "labelbox"}


def test_vendors_are_indexed_by_every_lab_that_contracted_with_them() -> None:
    items = [("scale-ai", {"c1": {"lab_id": "google"}, "c2": {"lab_id": "openai"}}),
             ("turing", {"c3": {"lab_id": "google"}}), ("labelbox", {})]
    assert vendors_by_lab(items) == {"google": {"scale-ai", "turing"}, "openai": {"scale-ai"}}
