"""The benchmark's result: one table for a terminal, the same figures as JSON (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.hops import HOPS

REQUIRED_KEYS = ("limit_rps", "vendorwatch_rps", "peer_rps", "alert_latency_p50_ms", "alert_latency_p99_ms",
                 "recovery_entries_per_s", "rss_bytes_per_100k_entries")

# (key, label, unit, target) in table order; the target is the issue's, reported, never asserted.
ROWS = (
    ("limit_rps", "limit: aiokafka getmany + orjson + dict", "events/s", ""),
    ("peer_rps", "peer: Quix Streams, RocksDB state", "events/s", ""),
    ("vendorwatch_rps", "vendorwatch worker", "events/s", ">= 50% of limit, > peer"),
    ("limit_cpu_us_per_event", "limit CPU per event", "us", ""),
    ("peer_cpu_us_per_event", "peer CPU per event", "us", ""),
    ("vendorwatch_cpu_us_per_event", "vendorwatch CPU per event", "us", ""),
    ("alert_latency_p50_ms", "alert latency p50", "ms", ""),
    ("alert_latency_p99_ms", "alert latency p99", "ms", "<= 100"),
    ("alert_latency_max_ms", "alert latency max", "ms", ""),
    ("recovery_entries_per_s", "recovery: restart on its disk (rocksdb)", "entries/s", ">= 100000"),
    ("recovery_cold_entries_per_s", "recovery: disk wiped, from changelogs", "entries/s", ""),
    ("rss_bytes_per_100k_entries", "worker RSS per 100k entries", "bytes", ""),
)


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator > 0 else None


def with_ratios(figures: Mapping[str, Any]) -> dict[str, Any]:
    """``figures`` plus vendorwatch as a ratio of the limit and of the peer, by throughput and by CPU."""
    out = dict(figures)
    out["vendorwatch_vs_limit"] = ratio(figures["vendorwatch_rps"], figures["limit_rps"])
    out["vendorwatch_vs_peer"] = ratio(figures["vendorwatch_rps"], figures["peer_rps"])
    if figures.get("vendorwatch_cpu_us_per_event"):
        # CPU per event inverted: events per CPU-second, which other load on the machine moves far less.
        out["vendorwatch_vs_limit_cpu"] = ratio(figures["limit_cpu_us_per_event"],
                                                figures["vendorwatch_cpu_us_per_event"])
        out["vendorwatch_vs_peer_cpu"] = ratio(figures["peer_cpu_us_per_event"],
                                               figures["vendorwatch_cpu_us_per_event"])
    return out


def table(results: Mapping[str, Any]) -> str:
    lines = [f"{'figure':<42} {'value':>14}  {'unit':<10} target"]
    for key, label, unit, target in ROWS:
        lines.append(f"{label:<42} {_number(results.get(key)):>14}  {unit:<10} {target}")
    lines.append("")
    for key, label in (("vendorwatch_vs_limit", "vendorwatch / limit (events/s)"),
                       ("vendorwatch_vs_peer", "vendorwatch / peer (events/s)"),
                       ("vendorwatch_vs_limit_cpu", "vendorwatch / limit (events per CPU-second)"),
                       ("vendorwatch_vs_peer_cpu", "vendorwatch / peer (events per CPU-second)")):
        if results.get(key) is not None:
            lines.append(f"{label:<42} {results[key]:>14.2f}")
    hops = [(hop, results.get(f"alert_hop_{hop}_p50_ms"), results.get(f"alert_hop_{hop}_p99_ms")) for hop in HOPS]
    if any(p50 is not None for _, p50, _ in hops):
        lines += ["", f"{'alert path, each hop':<42} {'p50 / p99 ms':>14}"]
        lines += [f"{hop.replace('_', ' '):<42} {_number(p50) + ' / ' + _number(p99):>14}" for hop, p50, p99 in hops]
    return "\n".join(lines)


def write_json(results: Mapping[str, Any], path: Path) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in results]
    if missing:
        raise KeyError(f"results lack {', '.join(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value < 100:
        return f"{value:,.1f}"
    return f"{value:,.0f}"
