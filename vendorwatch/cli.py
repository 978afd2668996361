"""The ``vendorwatch`` command: worker, dispatcher, publish, demo, schemas, replay."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from ingest import cli as ingest_cli
from schemas.errors import ConfigError
from vendorwatch.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"vendorwatch: bad setting {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs each request's full URL at INFO, and a receiver URL can carry a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command in {"demo", "publish", "schemas", "replay"}:
        # Interactive commands print their own story; library chatter would drown it.
        for noisy in ("aiokafka", "streams.admin", "streams.history", "kafka"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    result: int = args.run(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vendorwatch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run detection (the stream processor) and its HTTP API")
    worker.set_defaults(run=_worker)
    dispatcher = commands.add_parser("dispatcher", help="deliver alerts to receivers")
    dispatcher.set_defaults(run=_dispatcher)
    publish = commands.add_parser("publish", help="validate and publish CloudEvents from NDJSON or CSV files")
    publish.add_argument("files", nargs="+", metavar="FILE|-", help="NDJSON or CSV files, or - for standard input")
    publish.add_argument("--dry-run", action="store_true", help="validate only, publish nothing")
    ingest_cli.add_format_option(publish)
    publish.set_defaults(run=ingest_cli.publish)
    ingest_cli.register(commands)
    demo = commands.add_parser("demo", help="run the seed story end to end on a local broker")
    demo.add_argument("--no-broker", action="store_true", help="do not start the local broker")
    demo.set_defaults(run=_demo)
    explain = commands.add_parser("explain", help="how a lab's competitors reach a vendor, from a running worker")
    explain.add_argument("lab_id")
    explain.add_argument("vendor_id")
    explain.add_argument("--worker-url", default=None, help="default: http://HTTP_HOST:HTTP_PORT from settings")
    explain.add_argument("--json", action="store_true", help="print the API's JSON")
    explain.set_defaults(run=_explain)
    from alerts.cli import register as register_alerts
    register_alerts(commands)
    from vendorwatch.replay import register as register_replay
    register_replay(commands)
    schemas = commands.add_parser("schemas", help="JSON Schemas of the event contract")
    schemas_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    export = schemas_commands.add_parser("export", help="write one JSON Schema per event type")
    export.add_argument("directory", nargs="?", type=Path, default=None)
    export.set_defaults(run=_schemas_export)
    ingest_cli.register_schemas_check(schemas_commands)
    return parser


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from faust.worker import Worker as FaustWorker

    from streams.admin import ensure_topics
    from streams.app import create_app

    asyncio.run(ensure_topics(settings))
    # asyncio.run closed its loop; Faust's worker takes the current one.
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker = create_app(settings)
    FaustWorker(worker.app, loglevel=settings.log_level.lower(), quiet=True).execute_from_commandline()
    return 0


def _dispatcher(settings: Settings, args: argparse.Namespace) -> int:
    from alerts.dispatcher import run_dispatcher

    try:
        run_dispatcher(settings)
    except ConfigError as error:
        print(f"vendorwatch: bad setting {error}", file=sys.stderr)
        return 2
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from vendorwatch.demo import run_demo

    result: int = run_demo(settings, start_broker=not args.no_broker)
    return result


def _explain(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from schemas.api import InfluenceExplanation
    from vendorwatch.explain_text import render

    base = args.worker_url or f"http://{settings.http_host}:{settings.http_port}"
    try:
        response = httpx.get(f"{base}/v1/vendors/{args.vendor_id}/influence", params={"lab_id": args.lab_id},
                             timeout=30)
    except httpx.HTTPError as error:
        print(f"vendorwatch: cannot reach the worker at {base}: {error}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"vendorwatch: worker answered {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    if args.json:
        print(response.text)
        return 0
    print("\n".join(render(InfluenceExplanation.model_validate(response.json()), args.lab_id)))
    return 0


def _schemas_export(settings: Settings, args: argparse.Namespace) -> int:
    from schemas.export import JSON_DIR, write_all

    for path in write_all(args.directory or JSON_DIR):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
