"""Re-evaluation after one ownership change in synthetic graphs of 10k and 100k orgs.

``python -m bench.influence [ORGS ...]``: builds a seeded random ownership graph (vendors at the bottom,
holding companies and funds above, a few cross-holdings that make cycles, competitor groups with
subsidiaries, people on boards), applies one edge change (a competitor buys control of a holding
company) and prints how long it takes to find the affected vendors and to re-evaluate them, and how
many vendors that touched out of how many. Figures only; no assertions on time.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from schemas.alert import Evidence
from schemas.events import (
    ContractSigned,
    Interest,
    InterestType,
    OrgDeclared,
    OrgKind,
    OwnershipStated,
    OwnershipStatus,
    Sensitivity,
    Share,
)
from streams.changes import after_statement
from streams.contracts import ContractState, apply_contract_event
from streams.evaluate import Trigger, World, evaluate_vendor
from streams.graph import Graph, Orgs, apply_statement
from streams.influence import InfluenceWalk

SEED = 20250612
LABS = ("google", "openai", "anthropic", "xai", "meta")
AS_OF = date(2025, 7, 1)
CHECK_ALL_UP_TO = 20_000
"""Up to this size the benchmark also compares every vendor's influence before and after the change."""
T = TypeVar("T")


@dataclass
class Synthetic:
    world: World
    contracts: dict[str, dict[str, ContractState]]
    holders: dict[str, dict[str, OwnershipStated]]
    held_by: dict[str, set[str]]
    vendors: list[str]
    holdcos: list[str]


def holding(subject: str, party: str, percent: float, votes: bool = False) -> OwnershipStated:
    interests = [Interest(type=InterestType.SHAREHOLDING, share=Share(exact=percent))]
    if votes:
        interests.append(Interest(type=InterestType.VOTING_RIGHTS, share=Share(exact=percent)))
    return OwnershipStated(subject_id=subject, interested_party_id=party, status=OwnershipStatus.COMPLETED,
                           interests=tuple(interests))


def post(subject: str, person: str, kind: InterestType) -> OwnershipStated:
    return OwnershipStated(subject_id=subject, interested_party_id=person, status=OwnershipStatus.COMPLETED,
                           interests=(Interest(type=kind),))


def build(size: int, rnd: random.Random) -> Synthetic:
    vendors = [f"vendor-{i}" for i in range(size // 2)]
    holdcos = [f"holdco-{i}" for i in range(size * 3 // 10)]
    funds = [f"fund-{i}" for i in range(size // 10)]
    people = [f"person-{i}" for i in range(size - len(vendors) - len(holdcos) - len(funds) - 2 * len(LABS))]
    subsidiaries = [f"{lab}-ventures" for lab in LABS]
    orgs = {lab: OrgDeclared(org_id=lab, name=lab, kind=OrgKind.LAB) for lab in LABS}
    orgs |= {s: OrgDeclared(org_id=s, name=s, kind=OrgKind.INVESTOR, parent_id=s.split("-")[0]) for s in subsidiaries}
    statements: list[OwnershipStated] = []
    for vendor in vendors:  # 1-3 holders each, from holding companies, funds and (rarely) the labs' funds
        for party in rnd.sample(holdcos, rnd.randint(1, 2)) + rnd.sample(funds, rnd.randint(0, 1)):
            statements.append(holding(vendor, party, rnd.randint(2, 30)))
        if rnd.random() < 0.01:
            statements.append(holding(vendor, rnd.choice(subsidiaries), rnd.randint(5, 40)))
    for i, holdco in enumerate(holdcos):  # funds above holding companies; some holding-company ladders
        statements.append(holding(holdco, rnd.choice(funds), rnd.randint(10, 60), votes=rnd.random() < 0.3))
        if i and rnd.random() < 0.2:
            statements.append(holding(holdco, holdcos[rnd.randrange(i)], rnd.randint(5, 40)))
    for _ in range(len(funds) // 20):  # cross-holdings between funds: cycles
        a, b = rnd.sample(funds, 2)
        statements.append(holding(a, b, rnd.randint(1, 10)))
    for person in people:  # a board seat at a vendor and a post at a holding company or a lab
        statements.append(post(rnd.choice(vendors), person, InterestType.BOARD_MEMBER))
        if rnd.random() < 0.3:
            target = rnd.choice(holdcos) if rnd.random() < 0.95 else rnd.choice(LABS)
            statements.append(post(target, person, InterestType.SENIOR_MANAGING_OFFICIAL))
    holders: dict[str, dict[str, OwnershipStated]] = {}
    held_by: dict[str, set[str]] = {}
    for s in statements:
        holders[s.subject_id] = apply_statement(holders.get(s.subject_id, {}), s)
        held_by.setdefault(s.interested_party_id, set()).add(s.subject_id)
    contracts: dict[str, dict[str, ContractState]] = {}
    for n, vendor in enumerate(rnd.sample(vendors, len(vendors) // 5)):
        lab = rnd.choice(LABS)
        signed = ContractSigned(contract_id=f"c-{n}", lab_id=lab, vendor_id=vendor, annual_value_usd=1e6,
                                sensitivity=rnd.choice(list(Sensitivity)))
        contracts[vendor] = apply_contract_event(contracts.get(vendor, {}), signed)
    competitors = {lab: tuple(other for other in LABS if other != lab) for lab in LABS}
    world = World(orgs=Orgs(orgs), graph=Graph(holders, held_by), competitors=competitors)
    return Synthetic(world, contracts, holders, held_by, vendors, holdcos)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(size: int) -> None:
    rnd = random.Random(SEED + size)  # noqa: S311 - a seeded synthetic graph, not a secret
    synthetic, build_s = timed(lambda: build(size, rnd))
    edges = sum(len(h) for h in synthetic.holders.values())
    # The change: Meta's fund buys control (60% of the votes) of the busiest holding company.
    target = max(synthetic.holdcos, key=lambda h: len(synthetic.held_by.get(h, ())))
    change = holding(target, "meta-ventures", 60, votes=True)
    before = Graph(dict(synthetic.holders), {k: set(v) for k, v in synthetic.held_by.items()})
    synthetic.holders[target] = apply_statement(synthetic.holders.get(target, {}), change)
    synthetic.held_by.setdefault("meta-ventures", set()).add(target)
    world = synthetic.world
    affected, find_s = timed(lambda: after_statement(world.graph, change))
    vendors = sorted(v for v in affected if v.startswith("vendor-"))
    trigger = Trigger(evidence=(Evidence(source="urn:bench", id="change-1", type="vendorwatch.ownership.stated.v1"),),
                      as_of=AS_OF)
    results, evaluate_s = timed(lambda: [
        evaluate_vendor(v, synthetic.contracts.get(v, {}), world, {}, trigger) for v in vendors
    ])
    alerts = sum(len(r.alerts) for r in results)
    with_contracts = sum(1 for v in vendors if v in synthetic.contracts)
    sys.stdout.write(
        f"{size:>7} orgs, {edges:>7} statements (built in {build_s:.1f}s)\n"
        f"        touched: {len(affected)} orgs, {len(vendors)} of {len(synthetic.vendors)} vendors "
        f"({with_contracts} with contracts)\n"
        f"        find affected: {find_s * 1000:.2f} ms; re-evaluate them: {evaluate_s * 1000:.2f} ms "
        f"({evaluate_s * 1000 / max(len(vendors), 1):.2f} ms/vendor); {alerts} alert transition(s)\n"
    )
    if size <= CHECK_ALL_UP_TO:
        changed, check_s = timed(lambda: changed_vendors(synthetic, before, world))
        verdict = "all of them touched" if changed <= set(vendors) else f"MISSED {sorted(changed - set(vendors))}"
        sys.stdout.write(f"        check over all {len(synthetic.vendors)} vendors ({check_s:.1f}s): influence "
                         f"changed at {len(changed)}, {verdict}\n")


def changed_vendors(synthetic: Synthetic, before: Graph, world: World) -> set[str]:
    """Every vendor where some lab's competitor reaches differently after the change (brute force)."""
    old, new = InfluenceWalk(before, world.orgs, AS_OF), InfluenceWalk(world.graph, world.orgs, AS_OF)
    return {v for v in synthetic.vendors if any(old.influence(v, c) != new.influence(v, c) for c in LABS)}


def main(argv: list[str]) -> None:
    for size in [int(a) for a in argv] or [10_000, 100_000]:
        run(size)


if __name__ == "__main__":
    main(sys.argv[1:])
