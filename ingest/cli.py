"""Argparse wiring for the producer commands; ``vendorwatch/cli.py`` calls these ``register`` functions.

Each command's ``run(settings, args) -> int`` follows the convention of ``vendorwatch.cli``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ingest.tokens import hash_token, new_token
from schemas.errors import ConfigError
from vendorwatch.publish import FORMATS, run
from vendorwatch.settings import Settings

Subparsers = Any  # argparse's _SubParsersAction is private; its add_parser is all we use


def register(subparsers: Subparsers) -> None:
    """``vendorwatch ingest``: the HTTP ingest service."""
    ingest = subparsers.add_parser("ingest", help="serve the HTTP ingest API (POST /v1/events, /openapi.json)")
    ingest.add_argument("--new-token", metavar="NAME",
                        help="print a fresh token and its VENDORWATCH_INGEST_TOKENS entry, then exit")
    ingest.set_defaults(run=_ingest)


def register_schemas_check(schemas_subparsers: Subparsers) -> None:
    """``vendorwatch schemas check FILE...``: validate NDJSON or CSV events without publishing."""
    check = schemas_subparsers.add_parser("check", help="validate NDJSON or CSV events without publishing")
    check.add_argument("files", nargs="+", metavar="FILE|-", help="NDJSON or CSV files, or - for standard input")
    add_format_option(check)
    check.set_defaults(run=_check)


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="input format (default: csv for *.csv files, else ndjson)")


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.service import run_ingest

    if args.new_token:
        token = new_token()
        sys.stdout.write(f"token (give it to the producer; it is not stored anywhere): {token}\n")
        entry = f'{{"{args.new_token}": {{"hash": "{hash_token(token)}", "types": ["*"]}}}}'
        sys.stdout.write(f"VENDORWATCH_INGEST_TOKENS entry (narrow 'types'): {entry}\n")
        return 0
    try:
        run_ingest(settings)
    except ConfigError as error:
        sys.stderr.write(f"vendorwatch: bad setting {error}\n")
        return 2
    return 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
    return run(settings, args.files, fmt=args.format, dry_run=True)


def publish(settings: Settings, args: argparse.Namespace) -> int:
    """The body of ``vendorwatch publish`` (its parser adds ``add_format_option``)."""
    return run(settings, args.files, fmt=getattr(args, "format", "auto"), dry_run=args.dry_run)
