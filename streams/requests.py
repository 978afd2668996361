"""Re-evaluation requests on the internal evaluations topic: encoding and coalescing (pure).

Two kinds travel there. A *vendor request* names one vendor (a contract changed; the clock says an
announced deal lapsed) and goes to that vendor's partition. A *world request* names changes to the global
tables (organisations, competitor sets, ownership) and goes to every partition: each evaluator works out
which of its own vendors the changes reach, with its own copy of those tables, once that copy has read
them. The writer cannot work that out for the others: its copy may lack another worker's writes made a
moment before (a holding company's new owner on one worker, the company's stake in a vendor on the
other), and it does not hold the other workers' contracts (which vendors a lab with new competitors
deals with). Whichever of two such changes an evaluator reads last, it has read both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas.alert import Evidence
from schemas.cloudevents import CloudEvent
from streams.evaluate import Trigger


@dataclass(frozen=True)
class WorldChange:
    """One global table entry an input event changed, and the event."""

    table: str
    """``orgs``, ``competitors`` or ``ownership`` (``streams.world_cache``)."""
    key: str
    """The org, the lab, or the subject of an ownership statement."""
    cause: Evidence
    at: datetime | None = None
    party: str | None = None
    """For ownership: the interested party, whose seats elsewhere the change may reach too."""


Reach = Callable[[WorldChange, int], Iterable[str]]
"""The vendors of evaluations partition ``int`` that a change may be judged differently after."""


def evidence_of(event: CloudEvent) -> Evidence:
    return Evidence(source=event.source, id=event.id, type=event.type)


def change_of(event: CloudEvent, table: str, key: str, party: str | None = None) -> WorldChange:
    return WorldChange(table, key, evidence_of(event), event.time, party)


def encode_request(vendor_id: str, causes: Iterable[CloudEvent]) -> bytes:
    """A request naming every input event of a batch that reached ``vendor_id``."""
    causes = list(causes)
    times = [c.time for c in causes if c.time is not None]
    evidence = [evidence_of(c) for c in causes]
    return encode_evidence(vendor_id, evidence, max(times) if times else None)


def encode_evidence(vendor_id: str, evidence: Iterable[Evidence], at: datetime | None) -> bytes:
    return json.dumps({
        "vendor_id": vendor_id,
        "evidence": [e.model_dump(mode="json") for e in evidence],
        "at": at.isoformat() if at else None,
    }).encode()


def encode_world_request(changes: Iterable[WorldChange], partition: int, written: Mapping[str, int],
                         writer: str) -> bytes:
    """The request for ``partition``: ``written`` holds the changelog offsets of the global tables the
    ``writer`` (a worker instance) had written when it sent it, all acknowledged."""
    return json.dumps({
        "world": [{"table": c.table, "key": c.key, "party": c.party, "cause": c.cause.model_dump(mode="json"),
                   "at": c.at.isoformat() if c.at else None} for c in changes],
        "partition": partition,
        "written": dict(written),
        "writer": writer,
    }).encode()


Request = dict[str, Any]
"""A request as ``decode`` returns it: decoded once, read by ``reads_needed`` and ``coalesce``."""


def decode(requests: Iterable[bytes]) -> list[Request]:
    return [json.loads(raw) for raw in requests]


def reads_needed(requests: Iterable[Request], reader: str) -> dict[str, int]:
    """The changelog offset of each global table that ``reader``'s copy must have read before it evaluates
    ``requests``: the highest named by the world requests other workers wrote. A worker's own writes are in
    its copy already; vendor requests follow writes to tables of the vendor's partition, which are local."""
    needed: dict[str, int] = {}
    for request in requests:
        if "world" not in request or request["writer"] == reader:
            continue
        for table, offset in request["written"].items():
            needed[table] = max(needed.get(table, -1), int(offset))
    return needed


def coalesce(requests: Iterable[Request], as_of: date, reach: Reach) -> dict[str, Trigger]:
    """One trigger per vendor for a batch of requests, carrying every cause as evidence.

    Events that arrive together (Meta's stake and its new senior official, published a moment apart)
    then make one transition that names them all, instead of one per event. A world request's changes
    become vendors through ``reach``.
    """
    evidence: dict[str, list[Evidence]] = {}
    latest: dict[str, datetime | None] = {}

    def add(vendor_id: str, causes: Iterable[Evidence], at: datetime | None) -> None:
        named = evidence.setdefault(vendor_id, [])
        for cause in causes:
            if cause not in named:
                named.append(cause)
        previous = latest.get(vendor_id)
        latest[vendor_id] = at if previous is None or (at is not None and at > previous) else previous

    for request in requests:
        if "world" in request:
            for raw in request["world"]:
                change = WorldChange(raw["table"], raw["key"], Evidence.model_validate(raw["cause"]),
                                     _time(raw["at"]), raw["party"])
                for vendor_id in sorted(reach(change, request["partition"])):
                    add(vendor_id, [change.cause], change.at)
        else:
            add(request["vendor_id"], [Evidence.model_validate(e) for e in request["evidence"]], _time(request["at"]))
    return {vendor: Trigger(tuple(causes), latest[vendor], as_of) for vendor, causes in evidence.items()}


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
