"""``vendorwatch ingest``: check the settings, start the Kafka producer, serve the ingest API until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from ingest.app import Limits, create_app
from ingest.tokens import parse_grants
from streams.admin import ensure_topics
from vendorwatch.publisher import Publisher
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.ingest_max_body_bytes, settings.ingest_max_batch, settings.ingest_publish_timeout_s)


def run_ingest(settings: Settings) -> None:
    """Blocks until SIGINT or SIGTERM; raises ``ConfigError`` before anything starts if a setting is bad."""
    parse_grants(settings.ingest_tokens)
    asyncio.run(serve(settings))


async def serve(settings: Settings, *, stop: asyncio.Event | None = None, port: int | None = None) -> None:
    """Serve on ``http_host``:``ingest_port`` (or ``port``) until ``stop`` is set or a signal arrives."""
    grants = parse_grants(settings.ingest_tokens)
    if not grants:
        # Not an error: the service is useful to read /openapi.json, but nothing can be published.
        log.warning("ingest: VENDORWATCH_INGEST_TOKENS is empty; every publish will be refused with 401")
    stop = stop or _stop_on_signals()
    # Producers may come before the first worker: the topics must exist with the project's settings.
    await ensure_topics(settings)
    async with Publisher.from_settings(settings, role="ingest") as publisher:
        runner = web.AppRunner(create_app(grants, publisher, limits_of(settings)))
        await runner.setup()
        try:
            bound = port if port is not None else settings.ingest_port
            await web.TCPSite(runner, settings.http_host, bound).start()
            log.info("ingest: serving on http://%s:%d with %d tokens (%s)", settings.http_host, bound,
                     len(grants), ", ".join(g.name for g in grants))
            await stop.wait()
        finally:
            await runner.cleanup()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform's event loop
            loop.add_signal_handler(sig, stop.set)
    return stop

