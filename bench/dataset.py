"""The benchmark's data set, generated from a seed (pure: the same shape gives the same bytes).

Data shipments (``vendorwatch.data.shared.v1``) go to ``vendorwatch.data-shares`` keyed by vendor, as
EVENTS.md says. A record is one lab's export to one vendor: ``per_record`` shipments in one
CloudEvents batch record (``application/cloudevents-batch+json``), or a single structured event when
``per_record`` is 1. The background is what a real deployment has besides: organisations and
competitor sets, contracts of each lab with some of its vendors, and small investor stakes (below
every alert threshold, so the throughput run raises no alert).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from schemas import registry as names
from schemas.batch import BATCH_CONTENT_TYPE
from schemas.cloudevents import STRUCTURED_CONTENT_TYPE

DATA_CLASSES = ("training_data", "evaluation_data", "prototypes", "roadmap", "customer_data")
SENSITIVITIES = ("public", "internal", "confidential", "restricted")
TIME = "2025-06-12T10:00:00Z"
SOURCE = "urn:vendorwatch:bench"


@dataclass(frozen=True)
class Shape:
    events: int
    labs: int = 10
    vendors: int = 2000
    per_record: int = 100
    seed: int = 20250612
    prefix: str = "b"
    """Vendor and event ids start with it, so two data sets on one broker never share an id."""

    def lab(self, index: int) -> str:
        return f"lab-{index:02d}"

    def vendor(self, index: int) -> str:
        return f"{self.prefix}-vendor-{index:06d}"


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    events: int


Totals = dict[tuple[str, str], list[int]]
"""(lab, vendor) -> [shipments, records, bytes]: what every consumer in the benchmark computes."""


def envelope(event_id: str, event_type: str, data: dict[str, object]) -> dict[str, object]:
    return {"specversion": "1.0", "id": event_id, "source": SOURCE, "type": event_type, "time": TIME,
            "datacontenttype": "application/json", "data": data}


def shipment_records(shape: Shape) -> Iterator[Record]:
    """``shape.events`` shipments in records of up to ``per_record``, each record one (lab, vendor) export."""
    rng = random.Random(shape.seed)  # noqa: S311 - a seeded data set, not a secret
    made = 0
    while made < shape.events:
        lab, vendor = shape.lab(rng.randrange(shape.labs)), shape.vendor(rng.randrange(shape.vendors))
        count = min(shape.per_record, shape.events - made)
        events = [envelope(f"{shape.prefix}-{made + i}", names.DATA_SHARED, _shipment(rng, lab, vendor))
                  for i in range(count)]
        made += count
        yield make_record(names.TOPIC_DATA_SHARES, vendor, events)


def grid_records(shape: Shape) -> Iterator[Record]:
    """One shipment for every (lab, vendor): ``labs * vendors`` entries, one batch record per vendor."""
    rng = random.Random(shape.seed)  # noqa: S311 - a seeded data set, not a secret
    made = 0
    for v in range(shape.vendors):
        vendor = shape.vendor(v)
        events = []
        for lab in range(shape.labs):
            events.append(envelope(f"{shape.prefix}-{made}", names.DATA_SHARED, _shipment(rng, shape.lab(lab), vendor)))
            made += 1
        yield make_record(names.TOPIC_DATA_SHARES, vendor, events)


def _shipment(rng: random.Random, lab: str, vendor: str) -> dict[str, object]:
    return {"lab_id": lab, "vendor_id": vendor, "contract_id": f"{lab}-{vendor}", "records": rng.randrange(1, 10_000),
            "bytes": rng.randrange(1_000, 50_000_000), "data_class": rng.choice(DATA_CLASSES),
            "sensitivity": rng.choice(SENSITIVITIES)}


def make_record(topic: str, key: str, events: list[dict[str, object]]) -> Record:
    if len(events) == 1:
        return Record(topic, key.encode(), _json(events[0]), (("content-type", STRUCTURED_CONTENT_TYPE.encode()),), 1)
    return Record(topic, key.encode(), _json(events), (("content-type", BATCH_CONTENT_TYPE.encode()),), len(events))


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def background_records(shape: Shape, contracts_per_lab: int = 100, stakes: int = 200) -> Iterator[Record]:
    """Labs and their competitor sets, contracts with some vendors, small investor stakes in others."""
    rng = random.Random(shape.seed + 1)  # noqa: S311 - a seeded data set, not a secret
    n = 0

    def single(topic: str, key: str, event_type: str, data: dict[str, object]) -> Record:
        nonlocal n
        n += 1
        return make_record(topic, key, [envelope(f"{shape.prefix}-bg-{n}", event_type, data)])

    for i in range(shape.labs):
        lab = shape.lab(i)
        yield single(names.TOPIC_ORGS, lab, names.ORG_DECLARED, {"org_id": lab, "name": f"Lab {i}", "kind": "lab"})
    for i in range(shape.labs):
        rivals = [shape.lab(j) for j in range(shape.labs) if j != i]
        yield single(names.TOPIC_ORGS, shape.lab(i), names.COMPETITORS_DECLARED,
                     {"lab_id": shape.lab(i), "competitors": rng.sample(rivals, min(3, len(rivals)))})
    for i in range(shape.labs):
        for v in rng.sample(range(shape.vendors), min(contracts_per_lab, shape.vendors)):
            lab, vendor = shape.lab(i), shape.vendor(v)
            yield single(names.TOPIC_CONTRACTS, vendor, names.CONTRACT_SIGNED, {
                "contract_id": f"{lab}-{vendor}", "lab_id": lab, "vendor_id": vendor,
                "annual_value_usd": rng.randrange(10_000, 5_000_000), "data_classes": [rng.choice(DATA_CLASSES)],
                "sensitivity": rng.choice(SENSITIVITIES)})
    for s in range(stakes):
        vendor = shape.vendor(rng.randrange(shape.vendors))
        yield single(names.TOPIC_OWNERSHIP, vendor, names.OWNERSHIP_STATED, {
            "subject_id": vendor, "interested_party_id": f"{shape.prefix}-fund-{s % 50:02d}", "status": "completed",
            "interests": [{"type": "shareholding", "share": {"exact": round(rng.uniform(0.1, 4.0), 2)}}]})


def expected_totals(records: Iterator[Record] | list[Record]) -> Totals:
    """What a correct consumer ends with: summed from the records' own bytes, without vendorwatch's code."""
    totals: Totals = {}
    for record in records:
        if record.topic != names.TOPIC_DATA_SHARES:
            continue
        decoded = json.loads(record.value)
        for event in decoded if isinstance(decoded, list) else [decoded]:
            add_event(totals, event)
    return totals


def add_event(totals: Totals, event: dict[str, object]) -> None:
    """The aggregation every consumer in the benchmark performs, per (lab, vendor)."""
    data = event["data"]
    assert isinstance(data, dict)
    entry = totals.get((data["lab_id"], data["vendor_id"]))
    if entry is None:
        totals[(data["lab_id"], data["vendor_id"])] = [1, data["records"], data["bytes"]]
    else:
        entry[0] += 1
        entry[1] += data["records"]
        entry[2] += data["bytes"]
