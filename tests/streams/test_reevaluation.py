"""Which vendors a change re-evaluates (the agents' choice, mirrored by ``tests.support.fold``)."""

from __future__ import annotations

from itertools import count

import pytest
from pydantic import BaseModel

from schemas import registry as names
from schemas.alert import Alert
from schemas.cloudevents import new_event
from schemas.events import CompetitorsDeclared, InterestType
from tests.support.builders import org, role, shareholding, signed, stated
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
