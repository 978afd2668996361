"""vendorwatch itself: the real worker process (``vendorwatch worker``), measured from outside.

Throughput is read off the shipment table's changelog: every table write is a changelog record,
stamped by the worker's producer when written, so "first record consumed to last record reflected in
the table" is the span from the first changelog record to the one that makes the totals complete.
(The first batch is processed before the first stamp: that batch's time is not counted, which flatters
the figure by at most one batch, under 1% at the data set sizes the benchmark uses.)
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from bench.cleanup import delete_topics_of
from bench.kafka_io import Offsets, commit_positions
from streams.admin import changelog_topic, ensure_topics, start_group_at_end, topic_partitions
from streams.shipments import lab_totals
from vendorwatch.local import Stack, free_port, new_secret
from vendorwatch.settings import Settings

FOLLOW_TIMEOUT_S = 900.0
UNUSED_WEBHOOK = "http://127.0.0.1:9/unused"


@dataclass(frozen=True)
class Reflected:
    events: int
    entries: int
    seconds: float
    cpu_s: float
    """CPU the worker used from when the first table write was seen until the last (sampled, so approximate)."""

    @property
    def rps(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def new_stack(base: Settings, workdir: Path, name: str) -> Stack:
    app_id = f"bench-{name}-{int(time.time())}-{secrets.token_hex(3)}"
    settings = base.model_copy(update={"app_id": app_id, "http_port": free_port(), "dispatcher_http_port": free_port()})
    workdir.mkdir(parents=True, exist_ok=True)
    return Stack(settings, workdir, UNUSED_WEBHOOK, new_secret())


async def prepare(stack: Stack, input_starts: Offsets | None) -> None:
    """Topics exist; the worker's group starts at ``input_starts`` on the input topics (else at their end)."""
    await ensure_topics(stack.settings)
    await start_group_at_end(stack.settings, stack.app_id, stack.worker_topics)
    if input_starts:
        await commit_positions(stack.settings, stack.app_id, input_starts)


def _stat(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (which may hold spaces): state, ppid, ... (proc(5))."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the worker's shipment digest process: streams/digest.py)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(_stat(int(entry))[1])
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
            parents.setdefault(parent, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo.extend(parents.get(current, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process and its children have used: a figure the other load on the
    machine does not change."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = _stat(member)
        except OSError:  # exited meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of the process and its children."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as status:
                total += next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):  # exited meanwhile, or a zombie (no VmRSS)
            if member == pid:
                raise LookupError(f"no VmRSS for pid {pid}") from None
    return total


async def follow_shipments(stack: Stack, events: int) -> Reflected:
    """Read the shipment table's changelog until it reflects ``events`` shipments; when, and how many entries."""
    settings = stack.settings
    topic = changelog_topic(settings, "shipments")
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    latest: dict[bytes, tuple[int, int]] = {}  # vendor -> (shipments, lab entries)
    total = entries = 0
    first_ms: int | None = None
    pid = stack.processes["worker"].pid
    cpu_first = cpu_seconds(pid)
    deadline = time.monotonic() + FOLLOW_TIMEOUT_S
    try:
        partitions = await topic_partitions(settings, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while total < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker reflected {total} of {events} shipments in {FOLLOW_TIMEOUT_S}s")
            stack._check_alive()
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for record in records:
                    if first_ms is None:
                        cpu_first = cpu_seconds(pid)
                    first_ms = record.timestamp if first_ms is None else min(first_ms, record.timestamp)
                    labs = lab_totals(json.loads(record.value) if record.value else {})
                    now = (sum(lab["shipments"] for lab in labs.values()), len(labs))
                    was = latest.get(record.key, (0, 0))
                    latest[record.key] = now
                    total += now[0] - was[0]
                    entries += now[1] - was[1]
                    if total >= events:
                        last_ms = record.timestamp
                        break
    finally:
        await consumer.stop()
    assert first_ms is not None
    return Reflected(total, entries, max(last_ms - first_ms, 1) / 1000, cpu_seconds(pid) - cpu_first)


@dataclass(frozen=True)
class Throughput:
    reflected: Reflected
    cpu_s: float
    rss: int


async def throughput(base: Settings, workdir: Path, input_starts: Offsets, events: int) -> Throughput:
    """Start a worker at ``input_starts``; how fast it reflected ``events`` shipments, its CPU, its RSS."""
    stack = new_stack(base, workdir, "throughput")
    await prepare(stack, input_starts)
    try:
        stack.spawn("worker")
        reflected = await follow_shipments(stack, events)
        return Throughput(reflected, reflected.cpu_s, rss_bytes(stack.processes["worker"].pid))
    finally:
        stack.stop()
        await delete_topics_of(stack.settings, stack.app_id)


@dataclass(frozen=True)
class Recovery:
    entries: int
    seconds: float
    """Restart to ready with the tables on local disk (``TABLE_STORE=rocksdb://``, as deployed)."""
    cold_seconds: float
    """Restart to ready with the data directory wiped: every table rebuilt from its changelog."""
    empty_seconds: float
    """Start to ready of the same worker with empty tables: the part of ``seconds`` that is not recovery."""
    rss_empty: int
    rss_loaded: int
    rss_recovered: int
    load: Reflected

    @property
    def entries_per_s(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else 0.0

    @property
    def cold_entries_per_s(self) -> float:
        return self.entries / self.cold_seconds if self.cold_seconds > 0 else 0.0

    @property
    def rss_per_100k(self) -> float:
        return (self.rss_loaded - self.rss_empty) * 100_000 / self.entries if self.entries else 0.0


async def recovery(base: Settings, workdir: Path, load: Callable[[], Awaitable[int]], events: int) -> Recovery:
    """A worker with the deployed store (``rocksdb://``) takes ``events`` shipments (one per entry) from
    ``load()``; it is restarted on its disk (warm), then with its data directory wiped (cold)."""
    stack = new_stack(base.model_copy(update={"table_store": "rocksdb://"}), workdir, "recovery")
    await prepare(stack, None)
    try:
        empty_seconds = await _start(stack)
        await asyncio.sleep(2)  # let start-up allocations settle before the baseline
        rss_empty = rss_bytes(stack.processes["worker"].pid)
        producing = asyncio.ensure_future(load())
        reflected = await follow_shipments(stack, events)
        await producing
        rss_loaded = rss_bytes(stack.processes["worker"].pid)
        _stop(stack)  # SIGTERM: a clean stop, offsets committed, as a rolling restart does
        seconds = await _start(stack)
        rss_recovered = rss_bytes(stack.processes["worker"].pid)
        _stop(stack)
        shutil.rmtree(workdir / "data")  # the Stack's VENDORWATCH_DATA_DIR: a node that lost its disk
        cold_seconds = await _start(stack)
        return Recovery(reflected.entries, seconds, cold_seconds, empty_seconds, rss_empty, rss_loaded,
                        rss_recovered, reflected)
    finally:
        stack.stop()
        await delete_topics_of(stack.settings, stack.app_id)


async def _start(stack: Stack) -> float:
    started = time.monotonic()
    stack.spawn("worker")
    await stack.wait_ready(timeout=FOLLOW_TIMEOUT_S)
    return time.monotonic() - started


def _stop(stack: Stack) -> None:
    stack.stop()
    stack.processes.clear()
