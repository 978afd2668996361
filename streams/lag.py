"""Consumer lag of a worker, read off Faust's consumer: the edge ``streams.metrics.lag_by_topic`` is fed from.

Faust keeps each assigned partition's committed offset (``_committed_offset``, the next offset to read, as
Kafka stores it) and aiokafka the partition's high watermark from the last fetch; no broker round trip.
"""

from __future__ import annotations

from typing import Any

from streams.metrics import lag_by_topic


def consumer_lag(app: Any, topics: list[str]) -> dict[str, int]:
    consumer = app.consumer
    assigned = [tp for tp in consumer.assignment() if tp.topic in topics]
    highwater = {tp: _highwater(consumer, tp) for tp in assigned}
    committed = getattr(consumer, "_committed_offset", {})
    return lag_by_topic(assigned, highwater, {tp: committed.get(tp) for tp in assigned}, topics)


def _highwater(consumer: Any, tp: Any) -> int | None:
    try:
        value = consumer.highwater(tp)
    except (AssertionError, KeyError, AttributeError):
        # Revoked between assignment() and here, or nothing fetched yet: unknown this round.
        return None
    return int(value) if value is not None else None
