"""Dead-letter records: the original bytes untouched, the reason and the origin in headers."""

from __future__ import annotations

from collections.abc import Iterable

REASON = "vw-reason"
KIND = "vw-error-kind"
SOURCE_TOPIC = "vw-source-topic"
SOURCE_PARTITION = "vw-source-partition"
SOURCE_OFFSET = "vw-source-offset"
ORIGINAL_PREFIX = "vw-original-"
MAX_REASON_BYTES = 4096


def deadletter_headers(
    reason: str,
    kind: str,
    topic: str,
    partition: int,
    offset: int,
    original: Iterable[tuple[str, bytes]] = (),
    extra: Iterable[tuple[str, bytes]] = (),
) -> list[tuple[str, bytes]]:
    """Headers of a dead-letter record: reason, kind, origin, ``extra``, then the original record's
    headers under a prefix. Shared by the worker (bad input) and the dispatcher (undeliverable alerts)."""
    headers = [
        (REASON, reason.encode()[:MAX_REASON_BYTES]),
        (KIND, kind.encode()),
        *extra,
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
