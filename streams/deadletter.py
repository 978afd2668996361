"""Dead-letter records: the original bytes untouched, the reason and the origin in headers."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.errors import InvalidEvent

REASON = "vw-reason"
KIND = "vw-error-kind"
SOURCE_TOPIC = "vw-source-topic"
SOURCE_PARTITION = "vw-source-partition"
SOURCE_OFFSET = "vw-source-offset"
ORIGINAL_PREFIX = "vw-original-"
MAX_REASON_BYTES = 4096


def deadletter_headers(
    error: InvalidEvent, topic: str, partition: int, offset: int, original: Iterable[tuple[str, bytes]] = ()
) -> list[tuple[str, bytes]]:
    """Headers of the dead-letter record; the original record's headers follow under a prefix."""
    reason = error.reason.encode()[:MAX_REASON_BYTES]
    headers = [
        (REASON, reason),
        (KIND, error.kind.encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
    ]
    headers.extend((f"{ORIGINAL_PREFIX}{name}", value) for name, value in original)
    return headers


def header_pairs(headers: object) -> list[tuple[str, bytes]]:
    """Faust hands headers over as a list of pairs or a mapping; make them pairs."""
    if headers is None:
        return []
    if isinstance(headers, dict):
        return [(str(k), bytes(v)) for k, v in headers.items()]
    assert isinstance(headers, list | tuple)
    return [(str(k), bytes(v)) for k, v in headers]
