"""``vendorwatch replay``: rebuild state from the retained fact topics, without side effects.

Reads ``vendorwatch.orgs``, ``.ownership`` and ``.contracts`` from their first retained record up to their
ends when it starts, under its own consumer group (never the worker's), and commits the offsets it read
up to under that group. Every fact whose event time is at or before ``--to`` is folded in event-time
order (``streams/timeline.py``); the report lists the transitions the worker would have raised between
``--from`` and ``--to`` and each lab's exposure at ``--to``. Nothing is published: no alert reaches
``vendorwatch.alerts``, no receiver is called, no table or changelog is written. With ``--serve`` it then
answers ``GET /v1/labs/{lab_id}/exposure[?as_of=]`` from the replayed history until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError
from pydantic import TypeAdapter, ValidationError

from schemas.errors import InvalidArgument
from schemas.types import Id
from streams.asof import parse_moment
from streams.config import limits_of, policy_of
from streams.history import FactLog
from streams.timeline import Fact, fold
from vendorwatch.replay_report import Window, default_group, render, report_of, window_of
from vendorwatch.settings import Settings

_ID = TypeAdapter(Id)


def register(subparsers: Any) -> None:
    replay = subparsers.add_parser(
        "replay", help="rebuild state from the retained topics as of a window; publishes nothing",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("--from", dest="start", metavar="DATE|TIMESTAMP",
                        help="report transitions from this moment on (default: from the first fact)")
    replay.add_argument("--to", dest="end", metavar="DATE|TIMESTAMP",
                        help="apply facts up to this moment; a date means its end, UTC (default: now)")
    replay.add_argument("--group", help="consumer group (default: <APP_ID>-replay-<from>-<to>)")
    replay.add_argument("--lab", action="append", dest="labs", metavar="LAB_ID",
                        help="only this lab's transitions and exposure (repeatable; default: every lab)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.add_argument("--serve", action="store_true",
                        help="then serve GET /v1/labs/{lab_id}/exposure[?as_of=] on HTTP_HOST:HTTP_PORT until stopped")
    replay.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        window = window_of(args.start, args.end, datetime.now(UTC))
    except InvalidArgument as error:
        print(f"vendorwatch replay: {error}", file=sys.stderr)
        return 2
    group = args.group or default_group(settings.app_id, window)
    try:
        return asyncio.run(_replay(settings, args, window, group))
    except (KafkaError, TimeoutError, LookupError) as error:
        print(f"vendorwatch replay: cannot read the fact topics at {settings.kafka_bootstrap}: {error}",
              file=sys.stderr)
        return 1


async def _replay(settings: Settings, args: argparse.Namespace, window: Window, group: str) -> int:
    history = FactLog(settings, group_id=group)
    await history.catch_up()
    facts = list(history.facts)
    timeline = fold(facts, window.end, limits=limits_of(settings), policy=policy_of(settings))
    truncated = tuple(f"{tp.topic}[{tp.partition}]@{offset}" for tp, offset in sorted(history.truncated.items()))
    report = report_of(timeline, facts, window, group, unreadable=history.unreadable, truncated=truncated,
                       retention=history.retention, labs=args.labs)
    print(report.model_dump_json(indent=2) if args.json else "\n".join(render(report)), flush=True)
    if args.serve:
        await serve(settings, facts, window)
    return 0


async def serve(settings: Settings, facts: list[Fact], window: Window) -> None:
    """The worker's exposure API over the replayed facts, until SIGINT or SIGTERM."""
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return _json({"status": "ok", "replay_to": window.end.isoformat()})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/v1/labs/{lab_id}/exposure", _exposure_handler(settings, facts, window))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    print(f"serving http://{settings.http_host}:{settings.http_port}/v1/labs/{{lab_id}}/exposure"
          f"[?as_of=] up to {window.end.isoformat()}; Ctrl-C to stop", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _exposure_handler(settings: Settings, facts: list[Fact], window: Window) -> Any:
    limits, policy = limits_of(settings), policy_of(settings)

    async def exposure(request: web.Request) -> web.Response:
        lab_id = request.match_info["lab_id"]
        try:
            _ID.validate_python(lab_id)
        except ValidationError:
            return _json({"error": f"lab_id {lab_id!r} is not a valid id"}, status=400)
        try:
            moment = _moment(request.query.get("as_of"), window)
        except InvalidArgument as error:
            return _json({"error": str(error)}, status=422)
        answer = await asyncio.to_thread(
            lambda: fold(facts, moment, limits=limits, policy=policy, labs={lab_id}).exposure_at(lab_id, moment))
        return _json(answer.model_dump(mode="json"))

    return exposure


def _moment(text: str | None, window: Window) -> datetime:
    if text is None:
        return window.end
    moment = parse_moment(text, "as_of")
    if moment > window.end:
        raise InvalidArgument("as_of", f"{text} is after this replay's --to ({window.end.isoformat()})")
    return moment


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)
