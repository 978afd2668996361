"""A loopback HTTP receiver for delivery tests: answers ``status`` and keeps what it was posted."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class LoopbackReceiver:
    """Answers every POST with ``status`` (changeable mid-test); keeps each ``webhook-id`` and JSON body."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.ids: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.url = ""

    async def __aenter__(self) -> LoopbackReceiver:
        async def take(request: web.Request) -> web.Response:
            if "webhook-id" in request.headers:
                self.ids.append(request.headers["webhook-id"])
            self.bodies.append(json.loads(await request.read()))
            return web.Response(status=self.status)

        app = web.Application()
        app.router.add_post("/{tail:.*}", take)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
