"""Re-evaluation requests on the internal evaluations topic: encoding and coalescing (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from schemas.alert import Evidence
from schemas.cloudevents import CloudEvent
from streams.evaluate import Trigger


def encode_request(vendor_id: str, causes: Iterable[CloudEvent]) -> bytes:
    """A request naming every input event of a batch that reached ``vendor_id``."""
    causes = list(causes)
    times = [c.time for c in causes if c.time is not None]
    evidence = [Evidence(source=c.source, id=c.id, type=c.type) for c in causes]
    return encode_evidence(vendor_id, evidence, max(times) if times else None)


def encode_evidence(vendor_id: str, evidence: Iterable[Evidence], at: datetime | None) -> bytes:
    return json.dumps({
        "vendor_id": vendor_id,
        "evidence": [e.model_dump(mode="json") for e in evidence],
        "at": at.isoformat() if at else None,
    }).encode()


def coalesce(requests: Iterable[bytes], as_of: date) -> dict[str, Trigger]:
    """One trigger per vendor for a batch of requests, carrying every cause as evidence.

    Events that arrive together (Meta's stake and its new senior official, published a moment apart)
    then make one transition that names them all, instead of one per event.
    """
    evidence: dict[str, list[Evidence]] = {}
    latest: dict[str, datetime | None] = {}
    for raw in requests:
        request = json.loads(raw)
        vendor_id = request["vendor_id"]
        named = evidence.setdefault(vendor_id, [])
        for raw_cause in request["evidence"]:
            cause = Evidence.model_validate(raw_cause)
            if cause not in named:
                named.append(cause)
        at = datetime.fromisoformat(request["at"]) if request["at"] else None
        previous = latest.get(vendor_id)
        latest[vendor_id] = at if previous is None or (at is not None and at > previous) else previous
    return {vendor: Trigger(tuple(causes), latest[vendor], as_of) for vendor, causes in evidence.items()}
