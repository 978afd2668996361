"""Re-evaluation requests on the internal evaluations topic: encoding and coalescing (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from schemas.alert import Evidence
from schemas.cloudevents import CloudEvent
from streams.evaluate import Trigger


def encode_request(vendor_id: str, cause: CloudEvent) -> bytes:
    return encode_evidence(vendor_id, Evidence(source=cause.source, id=cause.id, type=cause.type), cause.time)


def encode_evidence(vendor_id: str, evidence: Evidence, at: datetime | None) -> bytes:
    return json.dumps({
        "vendor_id": vendor_id,
        "evidence": evidence.model_dump(mode="json"),
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
        cause = Evidence.model_validate(request["evidence"])
        if cause not in evidence.setdefault(vendor_id, []):
            evidence[vendor_id].append(cause)
        at = datetime.fromisoformat(request["at"]) if request["at"] else None
        previous = latest.get(vendor_id)
        latest[vendor_id] = at if previous is None or (at is not None and at > previous) else previous
    return {vendor: Trigger(tuple(causes), latest[vendor], as_of) for vendor, causes in evidence.items()}
