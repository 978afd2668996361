"""CPU per event of each step of the shipment path, on the benchmark's data set (figures only, no assertions).

``python -m bench.steps [EVENTS]``: decodes the seeded records (100 events each) as the worker does, then
times each step the batch step takes per event (judging a record's events, adding them to a vendor's
totals, indexing a written seen chunk) against what the limit does with the same bytes (``orjson`` and a
dict). One process, no broker: a step's cost without Faust's or aiokafka's. Inside the worker the same steps
cost about twice as much (the two "cores" here are hyperthreads, shared with Faust's consumer thread and the
broker); docs/performance.md has both.
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.dataset import Shape, shipment_records
from bench.limit import _add
from schemas.shipment_codec import decode_shipments
from streams.seen import index_chunk, judge_record, position
from streams.shipments import add_shipments

REPEATS = 3


def best_us_per_event(step: Callable[[], Any], events: int) -> float:
    """The fastest of REPEATS runs, in microseconds of CPU per event (the others met a busier machine)."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.process_time()
        step()
        best = min(best, time.process_time() - started)
    return best / events * 1e6


def measure(events: int) -> dict[str, float]:
    shape = Shape(events=events)
    records = list(itertools.islice(shipment_records(shape), events // shape.per_record))
    decoded = [decode_shipments(r.value, batch=True, max_events=10_000) or [] for r in records]
    count = sum(len(d) for d in decoded)
    shipments = [[e.data for e in events] for events in decoded]
    chunks = [{str(i): {d[0].source: [e.id for e in d]}} for i, d in enumerate(decoded) if d]

    def judge_all() -> None:
        seen: dict[str, int] = {}
        batch: set[str] = set()
        for i, items in enumerate(decoded):
            judge_record(items, position(0, i), seen, False, batch)

    def index_all() -> None:
        shards: dict[int, dict[str, int]] = {}
        for chunk in chunks:
            index_chunk(shards, "t/0/0", chunk)

    gc.freeze()  # as the worker does (streams.app.tune_gc): the data set is not garbage
    return {
        "limit: orjson + dict": best_us_per_event(lambda: [_add({}, r.value) for r in records], count),
        "decode (msgspec)": best_us_per_event(
            lambda: [decode_shipments(r.value, batch=True, max_events=10_000) for r in records], count),
        "judge a record at once": best_us_per_event(judge_all, count),
        "add to a vendor's totals": best_us_per_event(lambda: [add_shipments({}, s) for s in shipments], count),
        "index a written seen chunk": best_us_per_event(index_all, count),
    }


def main(argv: list[str]) -> int:
    events = int(argv[0]) if argv else 200_000
    for name, us in measure(events).items():
        print(f"{name:32s} {us:6.2f} µs CPU/event")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
