"""The limit: a plain aiokafka ``getmany`` loop that decodes the events and sums them per (lab, vendor).

No validation, no duplicate check, no state outside one dict, no commits: what a Python consumer of
these records cannot beat on this machine and broker. orjson is the fastest JSON decoder available.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer

from bench.dataset import Totals
from bench.kafka_io import Offsets
from vendorwatch.settings import Settings

MAX_RECORDS = 5000


@dataclass(frozen=True)
class Consumed:
    events: int
    seconds: float
    totals: Totals

    @property
    def rps(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def run_limit(settings: Settings, starts: Offsets, ends: Offsets) -> Consumed:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20)
    await consumer.start()
    totals: Totals = {}
    events = 0
    first: float | None = None
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        remaining = {tp for tp in starts if ends[tp] > starts[tp]}
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=MAX_RECORDS)
            if batches and first is None:
                first = time.perf_counter()
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    events += _add(totals, record.value)
                if consumer_position_done(records, ends[tp]):
                    remaining.discard(tp)
        done = time.perf_counter()
    finally:
        await consumer.stop()
    return Consumed(events, done - (first or done), totals)


def consumer_position_done(records: list[object], end: int) -> bool:
    return bool(records) and getattr(records[-1], "offset", -1) >= end - 1


def _add(totals: Totals, value: bytes) -> int:
    decoded = orjson.loads(value)
    events = decoded if isinstance(decoded, list) else (decoded,)
    for event in events:
        data = event["data"]
        key = (data["lab_id"], data["vendor_id"])
        entry = totals.get(key)
        if entry is None:
            totals[key] = [1, data["records"], data["bytes"]]
        else:
            entry[0] += 1
            entry[1] += data["records"]
            entry[2] += data["bytes"]
    return len(events)
