"""A real Standard Webhooks receiver for tests and demos, verifying with the reference library.

Every request is verified with ``standardwebhooks.Webhook(secret).verify`` (not our own signing code);
a bad signature gets 401. The sink can fail the first N attempts per ``webhook-id`` with 503 to make
the dispatcher retry. It keeps every accepted request (``deliveries``) and a view deduplicated by
``webhook-id`` (``unique()``), as a receiver following the standard would.

In-process::

    async with webhook_sink(secret) as sink:
        ...  # point the dispatcher at sink.url
        await sink.wait_for({"alert-1"})

Standalone (each verified alert appended as one JSON line to FILE, or printed when no --out)::

    python -m vendorwatch.sink --port 8099 --secret whsec_... [--out alerts.ndjson] [--fail-first N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Delivery:
    """One accepted (verified, not failed on purpose) request."""

    webhook_id: str
    body: Any
    raw: bytes
    headers: dict[str, str]
    attempt: int


class WebhookSink:
    def __init__(
        self, secret: str, *, fail_first: int = 0, out: Path | None = None, echo: bool = False
    ) -> None:
        self.webhook = Webhook(secret)
        self.echo = echo
        self.fail_first = fail_first
        self.fail_plan: dict[str, int] = {}
        self.out = out
        self.attempts: Counter[str] = Counter()
        self.deliveries: list[Delivery] = []
        self.rejected = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    def fail(self, webhook_id: str, times: int) -> None:
        """Answer 503 to the first ``times`` attempts carrying ``webhook_id``."""
        self.fail_plan[webhook_id] = times

    def unique(self) -> dict[str, Delivery]:
        """Deliveries deduplicated by ``webhook-id`` (first one wins), as a receiver would keep them."""
        seen: dict[str, Delivery] = {}
        for delivery in self.deliveries:
            seen.setdefault(delivery.webhook_id, delivery)
        return seen

    async def wait_for(self, ids: Iterable[str], timeout: float = 30.0) -> dict[str, Delivery]:
        """Wait until every id in ``ids`` was delivered; returns those deliveries."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        while not wanted <= self.unique().keys():
            if time.monotonic() > deadline:
                missing = sorted(wanted - self.unique().keys())
                raise TimeoutError(f"webhook sink: not delivered within {timeout}s: {missing}")
            await asyncio.sleep(0.05)
        return {k: v for k, v in self.unique().items() if k in wanted}

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = self.webhook.verify(raw, headers)
        except (WebhookVerificationError, ValueError) as exc:
            self.rejected += 1
            return web.json_response({"error": f"verification failed: {exc}"}, status=401)
        webhook_id = headers["webhook-id"]
        self.attempts[webhook_id] += 1
        attempt = self.attempts[webhook_id]
        if attempt <= self.fail_plan.get(webhook_id, self.fail_first):
            return web.json_response({"error": "failing on purpose"}, status=503)
        self.deliveries.append(Delivery(webhook_id, body, raw, headers, attempt))
        self._write(body)
        return web.Response(status=204)

    def _write(self, body: Any) -> None:
        line = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        if self.echo:
            print(line, flush=True)
        if self.out is not None:
            # Opened per line so a reader (an end-to-end test) sees each alert as soon as it arrives.
            with self.out.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}/hooks"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def webhook_sink(
    secret: str, *, host: str = "127.0.0.1", port: int = 0, fail_first: int = 0, out: Path | None = None
) -> AsyncIterator[WebhookSink]:
    sink = WebhookSink(secret, fail_first=fail_first, out=out)
    await sink.start(host, port)
    try:
        yield sink
    finally:
        await sink.stop()


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sink = WebhookSink(args.secret, fail_first=args.fail_first, out=args.out, echo=args.out is None)
    url = await sink.start(args.host, args.port)
    print(f"webhook sink listening on {url}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await sink.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stderr)")
    parser.add_argument("--secret", required=True, help="whsec_... Standard Webhooks secret")
    parser.add_argument("--out", type=Path, default=None, help="append verified alerts here (NDJSON)")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N attempts per id")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
