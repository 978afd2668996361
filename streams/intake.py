"""The edge of every input agent: decode, check topic and key, drop duplicates, dead-letter the rest.

``Intake.accept`` returns the decoded CloudEvent, or ``None`` when the record was dead-lettered,
re-keyed or seen before. It is the only place where raw input records are judged.
"""

from __future__ import annotations

import logging
from typing import Any

from schemas.cloudevents import CloudEvent, decode_record
from schemas.errors import InvalidEvent
from streams.app import Worker
from streams.deadletter import deadletter_headers, header_pairs

log = logging.getLogger(__name__)


class Intake:
    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._topics = {
            t.get_topic_name(): t
            for t in (worker.topics.orgs, worker.topics.ownership, worker.topics.contracts,
                      worker.topics.data_shares)
        }

    async def accept(self, event: Any, batch: set[Any] | None = None) -> CloudEvent | None:
        """``batch``: identities accepted earlier in the same batch (marked seen only once it is durable),
        so a repeat inside one batch is a duplicate too."""
        message = event.message
        topic = message.topic
        try:
            decoded = decode_record(message.value, header_pairs(message.headers))
            _check_topic(decoded, topic)
        except InvalidEvent as error:
            await self.reject(message, error)
            return None
        expected_key = decoded.key.encode()
        if message.key != expected_key:
            # Partitioning must follow EVENTS.md's key, or the tables stop being co-partitioned:
            # send the record on to its right partition and judge it there.
            self._worker.pending.track(
                await self._topics[topic].send(key=expected_key, value=message.value, headers=message.headers))
            log.info("re-keyed %s/%s on %s to %r", decoded.source, decoded.id, topic, decoded.key)
            return None
        seen = self._worker.tables.seen
        if decoded.identity in seen or (batch is not None and decoded.identity in batch):
            self._worker.metrics.events_duplicate.labels(topic).inc()
            return None
        if batch is not None:
            batch.add(decoded.identity)
        return decoded

    def mark_applied(self, decoded: CloudEvent, topic: str) -> None:
        """Remember source+id only once the event's effects are written, so a crash in between
        leads to a retry, not a loss."""
        self._worker.tables.seen[decoded.identity] = 1
        self._worker.metrics.events_consumed.labels(topic, decoded.type).inc()

    async def reject(self, message: Any, error: InvalidEvent) -> None:
        await self.deadletter(message, error.reason, error.kind)

    async def deadletter(self, message: Any, reason: str, kind: str) -> None:
        headers = deadletter_headers(reason, kind, message.topic, message.partition, message.offset,
                                     header_pairs(message.headers))
        self._worker.pending.track(
            await self._worker.topics.deadletter.send(key=message.key, value=message.value, headers=headers))
        self._worker.metrics.events_rejected.labels(message.topic, kind).inc()
        log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason)


def _check_topic(decoded: CloudEvent, topic: str) -> None:
    if decoded.spec.topic != topic:
        raise InvalidEvent(
            f"events of type {decoded.type} belong on topic {decoded.spec.topic}, not {topic}",
            event_type=decoded.type,
        )
