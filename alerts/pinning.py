"""An httpx transport that connects only to the addresses it checked (no DNS rebinding between the two).

Checking a receiver's address and then letting the HTTP client resolve the name again leaves a gap: a
DNS answer can be public at the check and ``169.254.169.254`` at the connect. ``PinnedBackend`` is the
httpcore network backend underneath the transport: it resolves the host once with the dispatcher's
resolver, refuses the whole host if any address is not public (``alerts.safety``), and opens the TCP
connection to one of exactly those addresses. TLS still verifies the certificate against the host
*name*, because httpcore passes the URL's host as ``server_hostname`` on top of our stream.
"""

from __future__ import annotations

import ssl
from collections.abc import Collection, Iterable

import httpcore
import httpx

from alerts.safety import Resolver, check_addresses, resolve_host
from schemas.errors import PermanentDelivery


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self,
        allow_insecure_hosts: Collection[str],
        resolver: Resolver = resolve_host,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow = frozenset(h.lower() for h in allow_insecure_hosts)
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        ips = await self._resolver(host, port)
        check_addresses(host, ips, self._allow)
        last: httpcore.ConnectError | None = None
        for ip in ips:  # the checked addresses, and only those
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError("no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise PermanentDelivery("receivers are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` over a ``PinnedBackend``; no proxies, no environment."""

    def __init__(
        self,
        allow_insecure_hosts: Collection[str],
        resolver: Resolver = resolve_host,
        *,
        inner: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
    ) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; the pool is rebuilt with the same
        # settings plus ours (httpx is pinned in pyproject.toml, and tests/alerts/test_pinning.py would
        # catch a version that moved the attribute).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            network_backend=PinnedBackend(allow_insecure_hosts, resolver, inner),
        )
