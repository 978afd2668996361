"""As-of queries and replay over a synthetic history of 10k and 100k orgs (figures only, no assertions).

``python -m bench.asof [ORGS ...]``: takes the ownership graph and contracts of ``bench.influence``, turns
every org, statement and contract into a fact with a random event time over two years, then prints how
long one as-of query takes (fold every fact up to a moment for one lab, then its view), how long a replay
takes (every lab), and how much memory the facts take once decoded (what a worker keeps for ``?as_of=``).
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from bench.influence import SEED, build
from schemas.cloudevents import CloudEvent, decode_structured, encode_structured, new_event
from schemas.events import CompetitorsDeclared, ContractSigned, OrgDeclared, OrgKind
from schemas.registry import (
    COMPETITORS_DECLARED,
    CONTRACT_SIGNED,
    ORG_DECLARED,
    OWNERSHIP_STATED,
    TOPIC_CONTRACTS,
    TOPIC_ORGS,
    TOPIC_OWNERSHIP,
)
from streams.timeline import Fact, fact_of, fold

START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)


def history(size: int, rnd: random.Random) -> list[tuple[str, bytes]]:
    """(topic, record value) of every fact, orgs and competitor sets first, the rest at random times."""
    synthetic = build(size, rnd)
    world = synthetic.world
    declared = dict(world.orgs.by_id)
    for org_id in {*synthetic.vendors, *synthetic.holdcos}:
        declared.setdefault(org_id, OrgDeclared(org_id=org_id, name=org_id, kind=OrgKind.OTHER))
    records = [(TOPIC_ORGS, _event(ORG_DECLARED, org, START)) for org in declared.values()]
    records += [(TOPIC_ORGS, _event(COMPETITORS_DECLARED, CompetitorsDeclared(lab_id=lab, competitors=list(rivals)),
                                    START)) for lab, rivals in world.competitors.items()]
    moment = lambda: START + SPAN * rnd.random()  # noqa: E731
    records += [(TOPIC_OWNERSHIP, _event(OWNERSHIP_STATED, s, moment()))
                for holders in synthetic.holders.values() for s in holders.values()]
    records += [(TOPIC_CONTRACTS, _event(CONTRACT_SIGNED, ContractSigned(**c.model_dump(exclude={"terminated"})),
                                         moment()))
                for contracts in synthetic.contracts.values() for c in contracts.values()]
    return records


_ids = iter(range(10**9))


def _event(type_: str, data: object, at: datetime) -> bytes:
    event = new_event(id=f"f-{next(_ids)}", source="urn:bench:asof", type=type_, data=data, time=at)  # type: ignore[arg-type]
    return encode_structured(event)


def decoded(records: list[tuple[str, bytes]]) -> list[Fact]:
    facts = []
    for offset, (topic, value) in enumerate(records):
        event: CloudEvent = decode_structured(value)
        facts.append(fact_of(event, topic, 0, offset, 0))
    return facts


def run(size: int) -> None:
    rnd = random.Random(SEED + size)  # noqa: S311 - a seeded synthetic history, not a secret
    records = history(size, rnd)
    tracemalloc.start()
    started = time.perf_counter()
    facts = decoded(records)
    decode_s = time.perf_counter() - started
    memory, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    middle = START + SPAN / 2
    started = time.perf_counter()
    timeline = fold(facts, middle, labs={"google"})
    view = timeline.exposure_at("google", middle)
    query_s = time.perf_counter() - started
    started = time.perf_counter()
    everything = fold(facts, START + SPAN)
    replay_s = time.perf_counter() - started
    sys.stdout.write(
        f"{size:>7} orgs: {len(facts)} facts, decoded in {decode_s:.1f}s, {memory / len(facts):.0f} B/fact "
        f"({memory / 2**20:.0f} MiB)\n"
        f"        one as-of query (google, mid-history): {query_s:.2f}s; {len(view.vendors)} vendors, "
        f"{sum(1 for v in view.vendors if v.conflicts)} in conflict\n"
        f"        replay of every lab to the end: {replay_s:.2f}s; {len(everything.transitions)} transitions\n"
    )


def main(argv: list[str]) -> None:
    for size in [int(a) for a in argv] or [10_000, 100_000]:
        run(size)


if __name__ == "__main__":
    main(sys.argv[1:])
