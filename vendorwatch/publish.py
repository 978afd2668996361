"""``vendorwatch publish`` and ``vendorwatch schemas check``: judge NDJSON or CSV events, publish the valid ones.

Each line (NDJSON) or row (CSV) is judged on its own: a rejected one is reported with its line number and
every problem's JSON pointer, and never hides the others. Valid events are published in file order,
through the SDK's ``Publisher`` (keyed as EVENTS.md says, structured mode, ``acks=all``, idempotent), in
chunks so that a large file streams instead of sitting in memory. A progress bar with the event rate is
shown on large files when standard error is a terminal; the last line is always the summary
``N published, M rejected`` (``N valid`` with ``--dry-run`` and for ``schemas check``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Literal

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from ingest.problems import Problem, judge, judge_bytes
from schemas.cloudevents import CloudEvent, encode_structured
from schemas.errors import VendorwatchError
from vendorwatch.csv_events import read_rows
from vendorwatch.publisher import Publisher, prepare
from vendorwatch.settings import Settings

Format = Literal["auto", "ndjson", "csv"]
FORMATS: tuple[Format, ...] = ("auto", "ndjson", "csv")
CHUNK = 500  # events per wait for acknowledgements: big enough to batch, small enough to stream
PROGRESS_MIN_BYTES = 1024 * 1024  # below this a file is done before a bar would be worth drawing


@dataclass(frozen=True, slots=True)
class Accepted:
    line: int
    event: CloudEvent
    raw: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str
    problems: tuple[Problem, ...] = ()


Judged = Accepted | Rejected


def _verdict(line: int, result: CloudEvent | list[Problem], raw: bytes | None = None) -> Judged:
    if isinstance(result, CloudEvent):
        return Accepted(line, result, raw if raw is not None else encode_structured(result))
    return Rejected(line, "; ".join(map(str, result)), tuple(result))


def judge_ndjson(lines: Iterable[bytes]) -> Iterator[Judged]:
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped:
            yield _verdict(number, judge_bytes(stripped), stripped)


def judge_csv(lines: Iterable[str]) -> Iterator[Judged]:
    for row in read_rows(lines):
        if row.event is None:
            yield Rejected(row.line, row.error or "unreadable row", (Problem("", "csv", row.error or ""),))
        else:
            yield _verdict(row.line, judge(row.event))


def validate_lines(lines: Iterable[bytes]) -> tuple[list[Accepted], list[Rejected]]:
    """Judge each non-blank NDJSON line on its own: one bad line never hides the others."""
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for item in judge_ndjson(lines):
        (accepted if isinstance(item, Accepted) else rejected).append(item)  # type: ignore[arg-type]
    return accepted, rejected


async def publish(settings: Settings, events: list[Accepted]) -> int:
    """Publish in order, waiting for every broker acknowledgement; returns how many were acknowledged."""
    async with Publisher.from_settings(settings) as publisher:
        return len(await publisher.send_records([prepare(item.event) for item in events]))


@dataclass
class Summary:
    accepted: int = 0
    rejected: int = 0


def run(settings: Settings, files: list[str], *, fmt: Format = "auto", dry_run: bool = False,
        err: IO[str] | None = None) -> int:
    """The CLI: 0 if every event was valid (and published), 1 if any was rejected, 2 if it could not run."""
    err = err or sys.stderr
    try:
        summary = asyncio.run(_run(settings, files, fmt, dry_run, err))
    except (OSError, VendorwatchError) as error:
        print(f"vendorwatch: {error}", file=err)
        return 2
    verb = "valid" if dry_run else "published"
    print(f"{summary.accepted} {verb}, {summary.rejected} rejected", file=err)
    return 1 if summary.rejected else 0


async def _run(settings: Settings, files: list[str], fmt: Format, dry_run: bool, err: IO[str]) -> Summary:
    summary = Summary()
    publisher = None if dry_run else Publisher.from_settings(settings)
    async with publisher or nullcontext():
        for name in files:
            with _opened(name) as source, _progress(name, source, err) as bar:
                items = judge_csv(source.text_lines()) if _is_csv(name, fmt) else judge_ndjson(source)
                await _publish_items(name, items, publisher, summary, err, bar)
    return summary


async def _publish_items(name: str, items: Iterable[Judged], publisher: Publisher | None, summary: Summary,
                         err: IO[str], bar: _Bar) -> None:
    for chunk in batched(items, CHUNK):
        valid = [item for item in chunk if isinstance(item, Accepted)]
        for item in chunk:
            if isinstance(item, Rejected):
                print(f"{name}:{item.line}: rejected: {item.reason}", file=err)
        if publisher is not None and valid:
            await publisher.send_records([prepare(item.event) for item in valid])
        summary.accepted += len(valid)
        summary.rejected += len(chunk) - len(valid)
        bar.update(len(chunk))


def batched(items: Iterable[Judged], size: int) -> Iterator[list[Judged]]:
    """``itertools.batched`` arrived in Python 3.12."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _is_csv(name: str, fmt: Format) -> bool:
    return fmt == "csv" or (fmt == "auto" and name.lower().endswith(".csv"))


class _Source:
    """Binary lines of a file or standard input, counting the bytes read so far for the progress bar."""

    def __init__(self, stream: IO[bytes], size: int | None) -> None:
        self.stream, self.size, self.read = stream, size, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.read += len(line)
            yield line

    def text_lines(self) -> Iterator[str]:
        # utf-8-sig: spreadsheets often start a CSV with a byte-order mark, which is no part of the header.
        for index, line in enumerate(self):
            yield line.decode("utf-8-sig" if index == 0 else "utf-8")


@contextmanager
def _opened(name: str) -> Iterator[_Source]:
    if name == "-":
        yield _Source(sys.stdin.buffer, None)
        return
    path = Path(name)
    with path.open("rb") as stream:
        yield _Source(stream, path.stat().st_size)


class _Bar:
    """A rich progress bar over bytes read, showing events and events per second; or nothing."""

    def __init__(self, source: _Source, progress: Progress | None, task: TaskID | None) -> None:
        self.source, self.progress, self.task = source, progress, task
        self.events, self.started = 0, time.monotonic()

    def update(self, events: int) -> None:
        self.events += events
        if self.progress is not None and self.task is not None:
            rate = self.events / max(time.monotonic() - self.started, 1e-6)
            self.progress.update(self.task, completed=self.source.read, events=self.events, rate=f"{rate:,.0f}")


@contextmanager
def _progress(name: str, source: _Source, err: IO[str]) -> Iterator[_Bar]:
    if source.size is None or source.size < PROGRESS_MIN_BYTES or not err.isatty():
        yield _Bar(source, None, None)
        return
    with _new_progress(err) as progress:
        task = progress.add_task(Path(name).name, total=source.size, events=0, rate="0")
        yield _Bar(source, progress, task)


def _new_progress(err: IO[str]) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[events]:,} events  {task.fields[rate]} events/s"), TimeRemainingColumn(),
        console=Console(file=err), transient=False,
    )
