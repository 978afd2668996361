"""The edge of every input agent: decode, check topic and key, drop duplicates, dead-letter the rest.

``Intake.accept`` returns the decoded CloudEvent, or ``None`` when the record was dead-lettered,
re-keyed or seen before. ``Intake.accept_many`` is its counterpart for the high-volume stream: a record
may be a batch of events (``schemas.batch``), each judged on its own, and duplicates are left to the
caller, which checks a whole batch against ``streams.seen`` at once. This module is the only place where
raw input records are judged.
"""

from __future__ import annotations

import logging
from typing import Any

from schemas.batch import Incoming, Rejected, decode_many, is_batch
from schemas.cloudevents import STRUCTURED_CONTENT_TYPE, CloudEvent, decode_record, encode_structured
from schemas.errors import InvalidEvent
from schemas.shipment_codec import accepted_whole
from streams.app import Worker
from streams.deadletter import deadletter_headers, header_pairs

BATCH_INDEX = "vw-source-batch-index"
STRUCTURED = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]

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

    async def accept_many(self, event: Any, event_type: str) -> list[Incoming]:
        """The valid events of one record whose key is right, in order; duplicates are not checked here.

        An invalid event of a batch goes to the dead-letter topic alone (its own bytes, its index in the
        batch): the batch's other events are applied. An event whose key is not the record's is sent on
        by itself with its own key, as a single record would be.
        """
        message = event.message
        headers = header_pairs(message.headers)
        batch = is_batch({name.lower(): value for name, value in headers})
        try:
            items = decode_many(message.value, headers, event_type)
        except InvalidEvent as error:
            await self.reject(message, error)
            return []
        # Decoded once per record: a key that is not UTF-8 matches no id, and every event is re-keyed.
        key = message.key.decode("utf-8", "replace") if message.key is not None else None
        whole = accepted_whole(items, message.topic, key)
        if whole is not None:
            return list[Incoming](whole)
        accepted: list[Incoming] = []
        for index, item in enumerate(items):
            if isinstance(item, Rejected):
                await self._reject_item(message, item)
                continue
            try:
                _check_topic(item, message.topic)
            except InvalidEvent as error:
                raw = encode_structured(_full(item))
                await self._reject_item(message, Rejected(raw, index if batch else None, error))
                continue
            if item.key != key:
                await self._rekey(message, item, whole_record=not batch)
                continue
            accepted.append(item)
        return accepted

    async def _reject_item(self, message: Any, rejected: Rejected) -> None:
        if rejected.index is None:
            await self.reject(message, rejected.error)
            return
        headers = deadletter_headers(rejected.error.reason, rejected.error.kind, message.topic, message.partition,
                                     message.offset, header_pairs(message.headers),
                                     extra=[(BATCH_INDEX, str(rejected.index).encode())])
        await self._worker.topics.deadletter.send(key=message.key, value=rejected.raw, headers=headers)
        self._worker.metrics.events_rejected.labels(message.topic, rejected.error.kind).inc()
        log.warning("dead-lettered event %s of the batch %s[%s]@%s: %s", rejected.index, message.topic,
                    message.partition, message.offset, rejected.error.reason)

    async def _rekey(self, message: Any, decoded: Incoming, *, whole_record: bool) -> None:
        # A single record is sent on byte for byte; an event out of a batch goes on as a single event.
        value, headers = ((message.value, message.headers) if whole_record
                          else (encode_structured(_full(decoded)), STRUCTURED))
        await self._topics[message.topic].send(key=decoded.key.encode(), value=value, headers=headers)
        log.info("re-keyed %s/%s on %s to %r", decoded.source, decoded.id, message.topic, decoded.key)

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


def _full(decoded: Incoming) -> CloudEvent:
    return decoded if isinstance(decoded, CloudEvent) else decoded.event()


def _check_topic(decoded: Incoming, topic: str) -> None:
    if decoded.spec.topic != topic:
        raise InvalidEvent(
            f"events of type {decoded.type} belong on topic {decoded.spec.topic}, not {topic}",
            event_type=decoded.type,
        )
