"""SSRF: the connection goes to the address that was checked, whatever DNS answers next."""

from __future__ import annotations

import ipaddress

import httpcore
import httpx
import pytest
from aiohttp import web

from alerts.pinning import PinnedBackend, PinnedTransport
from schemas.errors import PermanentDelivery

PUBLIC = ipaddress.ip_address("93.184.216.34")


class Rebinding:
    """A DNS server that answers public first, then the cloud metadata address."""

    def __init__(self, *answers: str) -> None:
        self.answers = [ipaddress.ip_address(a) for a in answers]
        self.calls = 0

    async def __call__(self, host: str, port: int):
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return (answer,)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append(host)
        raise httpcore.ConnectError("recorded, not connected")

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AssertionError

    async def sleep(self, seconds: float) -> None:
        return None


async def test_connects_to_the_checked_address_and_refuses_a_rebound_answer() -> None:
    dns = Rebinding("93.184.216.34", "169.254.169.254")
    inner = RecordingBackend()
    backend = PinnedBackend((), dns, inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("hooks.example.com", 443)
    assert inner.connected == ["93.184.216.34"]  # an address, never the name: no second resolution
    with pytest.raises(PermanentDelivery, match=r"non-public address 169\.254\.169\.254"):
        await backend.connect_tcp("hooks.example.com", 443)
    assert inner.connected == ["93.184.216.34"]  # the rebound answer was never connected to
    assert dns.calls == 2


@pytest.mark.parametrize("blocked", ["10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1",
                                     "192.168.1.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"])
async def test_every_blocked_range_is_refused_at_connect(blocked: str) -> None:
    inner = RecordingBackend()
    with pytest.raises(PermanentDelivery):
        await PinnedBackend((), Rebinding(blocked), inner).connect_tcp("evil.example.com", 443)
    assert inner.connected == []


async def test_one_bad_address_among_good_ones_refuses_the_host() -> None:
    async def mixed(host: str, port: int):
        return (PUBLIC, ipaddress.ip_address("10.0.0.1"))

    with pytest.raises(PermanentDelivery):
        await PinnedBackend((), mixed, RecordingBackend()).connect_tcp("mixed.example.com", 443)


async def test_real_loopback_allowed_only_when_listed() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(transport=PinnedTransport(("127.0.0.1",))) as client:
            assert (await client.post(f"http://127.0.0.1:{port}/")).status_code == 204
        # localhost resolves to loopback and is not listed: refused at connect, nothing sent
        async with httpx.AsyncClient(transport=PinnedTransport(("127.0.0.1",))) as client:
            with pytest.raises(PermanentDelivery):
                await client.post(f"http://localhost:{port}/")
    finally:
        await runner.cleanup()
