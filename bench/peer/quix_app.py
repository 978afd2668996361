"""The peer: the same per-(lab, vendor) aggregation written the way a Quix Streams user would write it.

Runs in its own virtualenv (bench/peer/requirements.txt: Quix Streams pins an older pydantic than
vendorwatch), so it imports nothing from vendorwatch. Stateful, RocksDB state with its changelog topic,
at-least-once, Quix's default commit interval. It consumes from the offsets its consumer group was
given, stops once it has counted ``--events`` shipments, and prints one JSON line: events, seconds
from the first event processed until the application has stopped (its last checkpoint committed,
so the state reflects every event), and the CPU seconds the process used meanwhile.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from quixstreams import Application, State


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--events", type=int, required=True)
    args = parser.parse_args()

    app = Application(broker_address=args.bootstrap, consumer_group=args.group, auto_offset_reset="earliest",
                      state_dir=args.state_dir, loglevel="WARNING", processing_guarantee="at-least-once")
    progress = {"events": 0, "first": 0.0, "cpu": 0.0, "counted": 0.0}

    def add(event: dict[str, Any], state: State) -> None:
        if progress["events"] == 0:
            progress["first"], progress["cpu"] = time.perf_counter(), time.process_time()
        data = event["data"]
        totals = state.get(data["lab_id"]) or [0, 0, 0]
        totals[0] += 1
        totals[1] += data["records"]
        totals[2] += data["bytes"]
        state.set(data["lab_id"], totals)  # the state is per message key, the vendor: one entry per (lab, vendor)
        progress["events"] += 1
        if progress["events"] >= args.events:
            progress["counted"] = time.perf_counter()
            app.stop()

    sdf = app.dataframe(app.topic(args.topic, value_deserializer="json"))
    sdf = sdf.apply(lambda value: value if isinstance(value, list) else [value], expand=True)
    sdf.update(add, stateful=True)
    app.run()
    done = time.perf_counter()
    result = {"events": progress["events"], "seconds": done - progress["first"],
              "cpu_s": time.process_time() - progress["cpu"], "counted_s": progress["counted"] - progress["first"]}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
