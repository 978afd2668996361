"""The state implied by every fact up to a moment, folded in event-time order (pure; no Faust, no Kafka).

Serves ``vendorwatch replay`` and ``GET /v1/labs/{lab_id}/exposure?as_of=``. The live worker applies each
input topic as it arrives; here the facts (organisations, competitor sets, ownership statements, contracts)
are first put in event-time order (CloudEvents ``time``), then folded with the functions the agents call:
``apply_statement``, ``apply_contract_event``, ``after_statement``/``after_org_declared`` to pick the
vendors a change reaches, and ``evaluate_vendor`` for each of them, as of the day the fact happened. So
the alert states, their ids and the exposure views are those the worker would have had if every fact
had reached it the moment it happened, and ``exposure_at`` evaluates a lab's vendors once more as of the
moment asked about (a contract that ended or an interest that started by then counts).

Data shipments are not facts here: they never change exposure or conflicts (``LabExposure`` carries no
shipment totals), and they are the high-volume topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerts.lifecycle import AlertState
from alerts.policy import DEFAULT_POLICY, Policy
from schemas.alert import Alert, Evidence
from schemas.api import LabExposure
from schemas.cloudevents import CloudEvent
from schemas.errors import InvalidEvent
from schemas.events import (
    CompetitorsDeclared,
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    OrgDeclared,
    OwnershipStated,
)
from schemas.registry import FACT_TOPICS
from streams.asof import lab_exposure
from streams.changes import after_org_declared, after_statement
from streams.contracts import ContractState, apply_contract_event
from streams.evaluate import Trigger, VendorEvaluation, evaluate_vendor
from streams.graph import apply_statement
from streams.paths import Limits
from streams.state import dump
from streams.world_cache import COMPETITORS, ORGS, OWNERSHIP, WorldCache

AS_OF_SOURCE = "urn:vendorwatch:as-of"
AS_OF_TYPE = "vendorwatch.as-of"


@dataclass(frozen=True, order=True)
class Fact:
    """One input event placed in time: sorting facts puts them in event-time order."""

    at: datetime
    """The CloudEvent's ``time``; the record's Kafka timestamp when the event has none."""
    position: tuple[int, int, int]
    """(topic rank in ``FACT_TOPICS``, partition, offset): arrival order breaks ties in ``at``."""
    event: CloudEvent = field(compare=False)


def fact_of(event: CloudEvent, topic: str, partition: int, offset: int, record_timestamp_ms: int) -> Fact:
    at = event.time if event.time is not None else datetime.fromtimestamp(record_timestamp_ms / 1000, UTC)
    if at.tzinfo is None:  # the codec refuses naive times; a hand-built event may still carry one
        at = at.replace(tzinfo=UTC)
    return Fact(at.astimezone(UTC), (FACT_TOPICS.index(topic), partition, offset), event)


@dataclass(frozen=True)
class RaisedAlert:
    """An alert transition the fold raised at ``at`` (replay reports them; it never publishes them)."""

    at: datetime
    alert: Alert


@dataclass
class Timeline:
    """The fold's state. ``labs``: evaluate only vendors these labs contract with (``None``: every vendor).

    An as-of query about one lab needs no other vendor's alert states: a vendor's states change only when
    that vendor is evaluated, and its evaluations happen at the same facts whichever other vendors are.
    """

    limits: Limits = field(default_factory=Limits)
    policy: Policy = DEFAULT_POLICY
    labs: frozenset[str] | None = None
    world: WorldCache = field(init=False)
    contracts: dict[str, dict[str, ContractState]] = field(default_factory=dict)
    states: dict[str, dict[str, AlertState]] = field(default_factory=dict)
    views: dict[str, dict[str, object]] = field(default_factory=dict)
    """lab -> vendor -> its exposure view entry (as the exposure table holds it)."""
    vendors_of: dict[str, set[str]] = field(default_factory=dict)
    """lab -> every vendor it ever contracted with."""
    evaluated_at: dict[str, datetime] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    transitions: list[RaisedAlert] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    """Facts the worker would dead-letter too (an amendment of an unknown contract, ...)."""
    last_at: datetime | None = None

    def __post_init__(self) -> None:
        self.world = WorldCache(self.limits)

    def apply(self, fact: Fact) -> None:
        event = fact.event
        if event.identity in self.seen:
            self.duplicates += 1
            return
        try:
            vendors = self._apply_data(event)
        except InvalidEvent:
            self.rejected += 1
            return
        self.seen.add(event.identity)
        self.applied += 1
        self.last_at = fact.at
        reached = sorted(self._in_focus(vendors))
        if not reached:
            return
        trigger = Trigger(evidence=(Evidence(source=event.source, id=event.id, type=event.type),), at=fact.at,
                          as_of=fact.at.date())
        for vendor_id in reached:
            self._evaluate(vendor_id, trigger)

    def exposure_at(self, lab_id: str, moment: datetime) -> LabExposure:
        """The lab's view as of ``moment``: its vendors evaluated once more on ``moment``'s day.

        Nothing is recorded: the states that evaluation would step to are the view's, not a transition
        that happened at a fact.
        """
        evidence = (Evidence(source=AS_OF_SOURCE, id=f"as-of-{moment.isoformat()}", type=AS_OF_TYPE),)
        entries: dict[str, object] = {}
        for vendor_id in sorted(self.vendors_of.get(lab_id, ())):
            trigger = Trigger(evidence=evidence, at=self.evaluated_at.get(vendor_id), as_of=moment.date())
            view = self._evaluation(vendor_id, trigger).exposures.get(lab_id)
            if view is not None:
                entries[vendor_id] = dump(view)
        return lab_exposure(lab_id, entries, as_of=moment)

    def labs_with_contracts(self) -> list[str]:
        return sorted(self.vendors_of)

    def _in_focus(self, vendors: set[str]) -> set[str]:
        if self.labs is None:
            return vendors
        return {v for v in vendors if any(v in self.vendors_of.get(lab, ()) for lab in self.labs)}

    def _evaluation(self, vendor_id: str, trigger: Trigger) -> VendorEvaluation:
        return evaluate_vendor(vendor_id, self.contracts.get(vendor_id, {}), self.world.world(),
                               self.states.get(vendor_id, {}), trigger, self.policy)

    def _evaluate(self, vendor_id: str, trigger: Trigger) -> None:
        result = self._evaluation(vendor_id, trigger)
        self.states[vendor_id] = result.states
        assert trigger.at is not None
        self.transitions.extend(RaisedAlert(trigger.at, alert) for alert in result.alerts)
        self.evaluated_at[vendor_id] = trigger.at
        for lab_id, view in result.exposures.items():
            if view is None:
                self.views.get(lab_id, {}).pop(vendor_id, None)
            else:
                self.views.setdefault(lab_id, {})[vendor_id] = dump(view)

    def _apply_data(self, event: CloudEvent) -> set[str]:
        """Apply one fact as the input agents do; the vendors it reaches."""
        data = event.data
        if isinstance(data, CompetitorsDeclared):
            self.world.apply(COMPETITORS, data.lab_id, list(data.competitors))
            return set(self.views.get(data.lab_id, {}))
        if isinstance(data, OrgDeclared):
            before = self.world.world()
            affected = after_org_declared(before.orgs, before.graph, data, set(self.views.get(data.org_id, {})))
            self.world.apply(ORGS, data.org_id, dump(data))
            return affected
        if isinstance(data, OwnershipStated):
            if data.statement_date is None and event.time is not None:
                # As the ownership agent does: an announced deal expires counted from when it was stated.
                data = data.model_copy(update={"statement_date": event.time.date()})
            holders = apply_statement(self.world.holders.get(data.subject_id, {}), data)
            self.world.apply(OWNERSHIP, data.subject_id, {party: dump(s) for party, s in holders.items()})
            return after_statement(self.world.world().graph, data)
        if isinstance(data, ContractSigned | ContractAmended | ContractTerminated):
            self.contracts[data.vendor_id] = apply_contract_event(self.contracts.get(data.vendor_id, {}), data)
            self.vendors_of.setdefault(data.lab_id, set()).add(data.vendor_id)
            return {data.vendor_id}
        return set()  # not a fact of exposure (FACT_TOPICS keeps shipments out)


def fold(facts: Iterable[Fact], until: datetime, *, limits: Limits | None = None, policy: Policy = DEFAULT_POLICY,
         labs: Iterable[str] | None = None) -> Timeline:
    """Every fact whose time is at or before ``until``, applied in event-time order."""
    timeline = Timeline(limits or Limits(), policy, None if labs is None else frozenset(labs))
    for fact in sorted(facts):
        if fact.at > until:
            break
        timeline.apply(fact)
    return timeline
