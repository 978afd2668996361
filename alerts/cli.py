"""``vendorwatch alerts``: operator commands over the alert log, the delivery state and the silences.

    vendorwatch alerts list [--lab L] [--vendor V] [--severity S] [--json]
    vendorwatch alerts show ALERT_ID [--json]
    vendorwatch alerts redeliver ALERT_ID --receiver NAME [--event-id ID]
    vendorwatch alerts silence add --match lab_id=google [--match severity=high ...] --for 2h --comment TEXT
    vendorwatch alerts silence list [--all] [--json]
    vendorwatch alerts silence expire ID
    vendorwatch alerts receiver list [--json]
    vendorwatch alerts receiver enable NAME

Everything is read from and written to Kafka, so the commands work with no dispatcher running and every
dispatcher of the group sees what they write. Deliveries are those of ``VENDORWATCH_DISPATCHER_GROUP``.
Nothing printed carries a receiver URL or secret: receivers are shown by name and kind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from alerts import views
from alerts.dispatcher import REDELIVER_HEADER
from alerts.follow import read_topic
from alerts.receiver_state import ReceiverState, read_receiver_states, write_receiver_state
from alerts.routing import MATCH_LABELS, load_routing
from alerts.schedule import parse_delays
from alerts.silences import expire, new_silence, read_silences, write_silence
from alerts.store import ensure_delivery_topics, read_deliveries
from schemas.errors import ConfigError
from schemas.registry import TOPIC_ALERTS
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings

Handler = Callable[[Settings, argparse.Namespace], int]
T = TypeVar("T")


class CommandError(Exception):
    """A refusal to print on stderr with exit status ``status`` (1: not found or refused, 2: bad usage)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def register(subparsers: Any) -> None:
    """Add ``alerts`` to the ``vendorwatch`` command (``subparsers`` from ``vendorwatch.cli._parser``)."""
    alerts = subparsers.add_parser("alerts", help="open alerts, delivery attempts, redelivery, silences")
    commands = alerts.add_subparsers(dest="alerts_command", required=True)
    _add_list(commands)
    _add_show(commands)
    _add_redeliver(commands)
    _add_silence(commands.add_parser("silence", help="silence deliveries matching labels for a while"))
    _add_receiver(commands.add_parser("receiver", help="receivers and their disabled state"))


def _add_list(commands: Any) -> None:
    cmd = commands.add_parser("list", help="open alerts: the latest transition of each alert is firing")
    cmd.add_argument("--lab", dest="lab_id")
    cmd.add_argument("--vendor", dest="vendor_id")
    cmd.add_argument("--severity", choices=sorted(views.SEVERITY_RANK, key=views.SEVERITY_RANK.__getitem__))
    cmd.add_argument("--json", action="store_true", help="print the alerts as a JSON array")
    cmd.set_defaults(run=_guarded(_list))


def _add_show(commands: Any) -> None:
    cmd = commands.add_parser("show", help="one alert's transitions and its delivery attempts")
    cmd.add_argument("alert_id")
    cmd.add_argument("--json", action="store_true")
    cmd.set_defaults(run=_guarded(_show))


def _add_redeliver(commands: Any) -> None:
    cmd = commands.add_parser("redeliver", help="send an alert transition again to one receiver")
    cmd.add_argument("alert_id")
    cmd.add_argument("--receiver", required=True, help="a receiver name from the routing")
    cmd.add_argument("--event-id", help="which transition (default: the alert's latest)")
    cmd.set_defaults(run=_guarded(_redeliver))


def _add_silence(silence: argparse.ArgumentParser) -> None:
    commands = silence.add_subparsers(dest="silence_command", required=True)
    add = commands.add_parser("add", help="drop deliveries of matching alerts for a while")
    add.add_argument("--match", action="append", required=True, metavar="LABEL=VALUE",
                     help=f"repeatable; labels: {', '.join(MATCH_LABELS)}; a label given twice matches either")
    add.add_argument("--for", dest="duration", required=True, help="how long, e.g. 30m, 2h, 1d")
    add.add_argument("--comment", required=True, help="why (shown in 'silence list')")
    add.add_argument("--created-by", default="", help="who")
    add.set_defaults(run=_guarded(_silence_add))
    listing = commands.add_parser("list", help="active and pending silences")
    listing.add_argument("--all", action="store_true", help="expired ones too")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_guarded(_silence_list))
    end = commands.add_parser("expire", help="end a silence now")
    end.add_argument("silence_id")
    end.set_defaults(run=_guarded(_silence_expire))


def _add_receiver(receiver: argparse.ArgumentParser) -> None:
    commands = receiver.add_subparsers(dest="receiver_command", required=True)
    listing = commands.add_parser("list", help="configured receivers and whether they are disabled")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_guarded(_receiver_list))
    enable = commands.add_parser("enable", help="re-enable a receiver disabled after it answered 410 Gone")
    enable.add_argument("name")
    enable.set_defaults(run=_guarded(_receiver_enable))


def _guarded(handler: Handler) -> Handler:
    """Turn the errors an operator can act on into one stderr line and an exit status."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        # aiokafka narrates every subscription at INFO; on a terminal it would bury the answer.
        logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
        try:
            return handler(settings, args)
        except CommandError as exc:
            _err(f"vendorwatch alerts: {exc}")
            return exc.status
        except ConfigError as exc:
            _err(f"vendorwatch: bad setting {exc}")
            return 2
        except (KafkaError, TimeoutError, OSError) as exc:
            _err(f"vendorwatch alerts: Kafka at {settings.kafka_bootstrap} did not answer ({type(exc).__name__})")
            return 1

    return run


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _kafka(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` once the delivery topics exist (a first silence must not auto-create a plain topic)."""

    async def both() -> T:
        await ensure_delivery_topics(settings)
        return await work()

    return asyncio.run(both())


# --- alerts ------------------------------------------------------------------------------------------


async def _read_alerts(settings: Settings) -> list[views.AlertRecord]:
    found: list[views.AlertRecord] = []

    def keep(record: Any) -> None:
        transition = views.read_transition(record)
        if transition is not None:
            found.append(transition)

    await read_topic(settings, TOPIC_ALERTS, keep)
    return views.unique(found)


def _list(settings: Settings, args: argparse.Namespace) -> int:
    transitions = _kafka(settings, lambda: _read_alerts(settings))
    filters = {"lab_id": args.lab_id, "vendor_id": args.vendor_id, "severity": args.severity}
    alerts = views.open_alerts(transitions, filters)
    if args.json:
        _out(json.dumps([a.model_dump(mode="json", exclude_none=True) for a in alerts], indent=2))
    elif alerts:
        _out("\n".join(views.table(views.ALERT_HEADERS, views.alert_rows(alerts))))
    else:
        _err("no open alerts")
    return 0


def _show(settings: Settings, args: argparse.Namespace) -> int:
    async def read() -> tuple[list[views.AlertRecord], list[Any]]:
        return await _read_alerts(settings), await read_deliveries(settings)

    transitions, deliveries = _kafka(settings, read)
    ours = views.transitions_of(transitions, args.alert_id)
    if not ours:
        raise CommandError(f"no alert {args.alert_id!r} in {TOPIC_ALERTS}")
    attempts = views.deliveries_of(deliveries, args.alert_id)
    if args.json:
        _out(json.dumps({"alert_id": args.alert_id, "transitions": [t.event.to_json() for t in ours],
                          "deliveries": [views.delivery_json(d) for d in attempts]}, indent=2))
    else:
        _out("\n".join(views.show_lines(ours, attempts)))
    return 0


def _redeliver(settings: Settings, args: argparse.Namespace) -> int:
    routing = load_routing(settings)
    if args.receiver not in routing.receivers:
        known = ", ".join(sorted(routing.receivers))
        raise CommandError(f"no receiver named {args.receiver!r} in the routing (known: {known})", 2)
    transitions = _kafka(settings, lambda: _read_alerts(settings))
    chosen = _pick(views.transitions_of(transitions, args.alert_id), args.alert_id, args.event_id)
    asyncio.run(_republish(settings, chosen, args.receiver))
    _out(f"redelivery of {chosen.event.id} ({chosen.alert.transition.value}) to {args.receiver} queued; "
         f"follow it with 'vendorwatch alerts show {args.alert_id}'")
    return 0


def _pick(transitions: Sequence[views.AlertRecord], alert_id: str, event_id: str | None) -> views.AlertRecord:
    if not transitions:
        raise CommandError(f"no alert {alert_id!r} in {TOPIC_ALERTS}")
    if event_id is None:
        return transitions[-1]
    for transition in transitions:
        if transition.event.id == event_id:
            return transition
    raise CommandError(f"alert {alert_id!r} has no transition with event id {event_id!r}")


async def _republish(settings: Settings, transition: views.AlertRecord, receiver: str) -> None:
    # The same bytes and key (so the same partition and webhook-id); the header tells every dispatcher of
    # the group to deliver it to this receiver only, whatever the routes say.
    headers = [(k, v) for k, v in transition.headers if k != REDELIVER_HEADER]
    headers.append((REDELIVER_HEADER, receiver.encode()))
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC_ALERTS, transition.value, key=transition.key, headers=headers)
    finally:
        await producer.stop()


# --- silences -----------------------------------------------------------------------------------------


def parse_matchers(items: Sequence[str]) -> dict[str, str | tuple[str, ...]]:
    """``["lab_id=google", "severity=high", "severity=critical"]`` -> lab google, severity high or critical."""
    values: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CommandError(f"--match {item!r}: expected LABEL=VALUE", 2)
        values.setdefault(name.strip(), []).append(value.strip())
    return {name: vs[0] if len(vs) == 1 else tuple(dict.fromkeys(vs)) for name, vs in values.items()}


def parse_duration(text: str) -> float:
    try:
        delays = parse_delays(text, setting="--for")
    except ConfigError as exc:
        raise CommandError(f"--for {text!r}: {exc.problem}", 2) from None
    if len(delays) != 1:
        raise CommandError(f"--for {text!r}: expected one duration, e.g. 2h", 2)
    return delays[0]


def _silence_add(settings: Settings, args: argparse.Namespace) -> int:
    try:
        silence = new_silence(parse_matchers(args.match), time.time(), parse_duration(args.duration),
                              args.comment, args.created_by)
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None
    _kafka(settings, lambda: write_silence(settings, silence))
    _out(silence.id)
    _err(f"silenced {views.matchers_text(silence.matchers)} until {views.when(silence.ends_at)}; "
         "matching deliveries are dropped (not held) until then")
    return 0


def _silence_list(settings: Settings, args: argparse.Namespace) -> int:
    book = _kafka(settings, lambda: read_silences(settings))
    now = time.time()
    shown = [s for s in book.silences.values() if args.all or s.state(now) != "expired"]
    if args.json:
        _out(json.dumps([{**asdict(s), "state": s.state(now)} for s in shown], indent=2))
    elif shown:
        _out("\n".join(views.table(views.SILENCE_HEADERS, views.silence_rows(shown, now))))
    else:
        _err("no silences" if args.all else "no active or pending silences")
    return 0


def _silence_expire(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> str:
        book = await read_silences(settings)
        silence = book.silences.get(args.silence_id)
        if silence is None:
            raise CommandError(f"no silence {args.silence_id!r}")
        now = time.time()
        if silence.state(now) == "expired":
            return f"silence {silence.id} had already expired at {views.when(silence.ends_at)}"
        await write_silence(settings, expire(silence, now))
        return f"silence {silence.id} expired; later deliveries of {views.matchers_text(silence.matchers)} go out"

    _err(_kafka(settings, work))
    return 0


# --- receivers ----------------------------------------------------------------------------------------


def _receiver_list(settings: Settings, args: argparse.Namespace) -> int:
    routing = load_routing(settings)
    book = _kafka(settings, lambda: read_receiver_states(settings))
    rows: list[dict[str, Any]] = []
    for name, receiver in sorted(routing.receivers.items()):
        gone = book.disabled(name)
        rows.append({"name": name, "kind": receiver.kind, "disabled": gone is not None,
                     "since": views.when(gone.at) if gone else "", "reason": gone.reason if gone else ""})
    if args.json:
        _out(json.dumps(rows, indent=2))
    else:
        cells = [[str(r["name"]), str(r["kind"]), "disabled" if r["disabled"] else "enabled", r["since"], r["reason"]]
                 for r in rows]
        _out("\n".join(views.table(("NAME", "KIND", "STATE", "SINCE", "REASON"), cells)))
    return 0


def _receiver_enable(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> str:
        book = await read_receiver_states(settings)
        if book.disabled(args.name) is None:
            return f"receiver {args.name} is not disabled; nothing to do"
        await write_receiver_state(settings, ReceiverState(args.name, False, "enabled by an operator", time.time(),
                                                           by="cli"))
        return f"receiver {args.name} enabled; dispatchers of {settings.dispatcher_group} send to it again"

    _err(_kafka(settings, work))
    return 0
