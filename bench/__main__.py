"""``python -m bench [--quick]``: vendorwatch against the limit and a Quix Streams peer, on one broker, in one run.

Against the broker at ``VENDORWATCH_KAFKA_BOOTSTRAP`` (the local Apache Kafka is started when none
answers): publishes a seeded data set, then measures the limit, the peer, vendorwatch's worker, alert
latency with the data stream at 20% of vendorwatch's measured rate, recovery of a restarted worker and
its memory per entry. Prints one table and writes ``bench/results/latest.json``. Figures only: nothing
here passes or fails on a number. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import report
from bench.dataset import Shape, background_records, expected_totals, grid_records, shipment_records
from bench.kafka_io import end_offsets, produce
from bench.latency import alert_latency, percentile
from bench.limit import run_limit
from bench.peer import run_peer
from bench.settle import settle
from bench.worker import recovery, throughput
from schemas.registry import INPUT_TOPICS, TOPIC_DATA_SHARES
from streams.admin import ensure_topics
from vendorwatch.local import broker_answers, start_local_broker
from vendorwatch.settings import Settings, load_settings

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
ALERT_RATE_SHARE = 0.2


@dataclass(frozen=True)
class Plan:
    events: int
    per_record: int
    recovery_vendors: int
    injections: int
    spacing_s: float
    seed: int
    labs: int = 10
    vendors: int = 2000


FULL = Plan(events=1_000_000, per_record=100, recovery_vendors=100_000, injections=200, spacing_s=0.1, seed=20250612)
QUICK = replace(FULL, events=200_000, recovery_vendors=10_000, injections=50)


def parse(argv: list[str] | None) -> tuple[Plan, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="a smaller run, about two minutes")
    parser.add_argument("--events", type=int, help="data-shipment events (full: 1,000,000; quick: 200,000)")
    parser.add_argument("--per-record", type=int, help="events per Kafka record: 1 = one event per record; "
                        "more = CloudEvents batch records (default 100)")
    parser.add_argument("--recovery-entries", type=int, help="(lab, vendor) entries the restarted worker recovers "
                        "(full: 1,000,000; quick: 100,000)")
    parser.add_argument("--injections", type=int, help="ownership events injected for the alert latency")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    changes: dict[str, Any] = {k: v for k, v in (("events", args.events), ("per_record", args.per_record),
                                                 ("injections", args.injections), ("seed", args.seed)) if v}
    if args.recovery_entries:
        changes["recovery_vendors"] = max(1, args.recovery_entries // plan.labs)
    return replace(plan, **changes), args.out


async def run(plan: Plan, settings: Settings, workdir: Path) -> dict[str, Any]:
    """Every measurement in order; returns the figures (ratios added by ``report.with_ratios``)."""
    if not broker_answers(settings.kafka_bootstrap):
        _say(f"no broker at {settings.kafka_bootstrap}: starting the local Apache Kafka")
        start_local_broker(settings.kafka_bootstrap)
    await ensure_topics(settings)
    load_before = os.getloadavg()
    prefix = f"b{int(time.time())}"
    shape = Shape(events=plan.events, labs=plan.labs, vendors=plan.vendors, per_record=plan.per_record,
                  seed=plan.seed, prefix=prefix)
    figures: dict[str, Any] = {"events": plan.events, "events_per_record": plan.per_record, "seed": plan.seed,
                               "labs": plan.labs, "vendors": plan.vendors}

    _say(f"publishing {plan.events:,} shipments ({plan.per_record} per record) and the background")
    starts = await end_offsets(settings, list(INPUT_TOPICS))
    await produce(settings, background_records(shape))
    await produce(settings, shipment_records(shape))
    ends = await end_offsets(settings, [TOPIC_DATA_SHARES])
    shipment_starts = {tp: o for tp, o in starts.items() if tp.topic == TOPIC_DATA_SHARES}

    await _settled(figures, "limit")
    _say("limit")
    cpu = time.process_time()
    limit = await run_limit(settings, shipment_starts, ends)
    figures |= {"limit_rps": round(limit.rps), "limit_events": limit.events,
                "limit_cpu_us_per_event": _per_event(time.process_time() - cpu, limit.events),
                "limit_totals_match": limit.totals == expected_totals(shipment_records(shape))}

    await _settled(figures, "peer")
    _say("peer (Quix Streams)")
    peer = await run_peer(settings, shipment_starts, plan.events)
    figures |= {"peer_rps": round(peer.rps), "peer_events": peer.events,
                "peer_cpu_us_per_event": _per_event(peer.cpu_s, peer.events)}

    await _settled(figures, "vendorwatch")
    _say("vendorwatch worker")
    worker = await throughput(settings, workdir / "throughput", starts, plan.events)
    figures |= {"vendorwatch_rps": round(worker.reflected.rps), "vendorwatch_events": worker.reflected.events,
                "vendorwatch_entries": worker.reflected.entries,
                "vendorwatch_entries_expected": len(expected_totals(shipment_records(shape))),
                "vendorwatch_cpu_us_per_event": _per_event(worker.cpu_s, plan.events),
                "vendorwatch_rss_bytes": worker.rss}

    rate = max(1.0, ALERT_RATE_SHARE * worker.reflected.rps)
    await _settled(figures, "alert_latency")
    _say(f"alert latency, shipments at {rate:,.0f} events/s")
    latency = await alert_latency(settings, workdir / "latency", rate=rate, injections=plan.injections,
                                  spacing_s=plan.spacing_s, per_record=plan.per_record)
    figures |= {"alert_latency_p50_ms": round(percentile(latency.samples_ms, 50), 1),
                "alert_latency_p99_ms": round(percentile(latency.samples_ms, 99), 1),
                "alert_latency_max_ms": round(latency.samples_ms[-1], 1) if latency.samples_ms else None,
                "alert_samples": len(latency.samples_ms), "alerts_missing": latency.missing,
                "alert_stream_rate_eps": round(rate)}
    for hop, samples in latency.hops.items():
        if samples:  # none when no alert's every mark was found: no figure rather than a zero
            figures |= {f"alert_hop_{hop}_p50_ms": round(percentile(samples, 50), 1),
                        f"alert_hop_{hop}_p99_ms": round(percentile(samples, 99), 1)}
    if latency.hops_error is not None:
        figures["alert_hops_error"] = latency.hops_error
        _say(f"the alert path's hops could not be read back: {latency.hops_error}")

    grid = replace(shape, vendors=plan.recovery_vendors, prefix=f"{prefix}-r")
    await _settled(figures, "recovery")
    _say(f"recovery and memory, {plan.labs * plan.recovery_vendors:,} entries")
    recovered = await recovery(settings, workdir / "recovery", lambda: produce(settings, grid_records(grid)),
                               plan.labs * plan.recovery_vendors)
    figures |= {"recovery_entries_per_s": round(recovered.entries_per_s), "recovery_entries": recovered.entries,
                "recovery_seconds": round(recovered.seconds, 2),
                "recovery_cold_entries_per_s": round(recovered.cold_entries_per_s),
                "recovery_cold_seconds": round(recovered.cold_seconds, 2), "recovery_store": "rocksdb://",
                "restart_empty_seconds": round(recovered.empty_seconds, 2),
                "rss_bytes_per_100k_entries": round(recovered.rss_per_100k),
                "rss_empty_bytes": recovered.rss_empty, "rss_loaded_bytes": recovered.rss_loaded,
                "rss_recovered_bytes": recovered.rss_recovered, "recovery_load_rps": round(recovered.load.rps)}
    figures |= {"load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "cpus": os.cpu_count(), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return report.with_ratios(figures)


async def _settled(figures: dict[str, Any], phase: str) -> None:
    """Each phase on a settled machine (``bench.settle``), and how long that took in the figures."""
    settled = await settle()
    figures |= {f"settle_{phase}_s": round(settled.seconds, 1), f"settle_{phase}_quiet": settled.quiet}
    if not settled.quiet:
        _say(f"the machine did not settle before the {phase} phase ({settled.busy_share:.0%} of its CPUs busy): "
             "measured as it is")


def _per_event(seconds: float, events: int) -> float:
    return round(seconds / events * 1e6, 2) if events else 0.0


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    plan, out = parse(argv)
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="vendorwatch-bench-") as workdir:
        results = asyncio.run(run(plan, settings, Path(workdir)))
    print(report.table(results))
    report.write_json(results, out)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
