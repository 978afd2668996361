"""Where the dispatcher may send alerts: https to public addresses, unless an operator allowed a host.

Alerts carry a lab's vendor exposure, and a receiver URL is configuration that may come from many
hands, so a URL must not be able to turn the dispatcher into a probe of the internal network (SSRF):
every address the host resolves to must be public. Hosts named in ``allow_insecure_hosts`` (e.g.
``127.0.0.1`` in tests, an in-cluster receiver) may use plain http and private addresses.

The check and the connection use the same addresses: ``alerts.pinning`` resolves once, checks every
address here, and connects to a checked one, so a DNS answer that changes between check and connect
(rebinding) cannot redirect an alert.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection, Iterable
from urllib.parse import urlsplit

from schemas.errors import PermanentDelivery, RetryableDelivery

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[tuple[IPAddress, ...]]]

# Spelled out although ``is_global`` covers most of them: a reader can check the list against the
# documented policy, and ``is_global`` alone lets multicast through.
BLOCKED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", includes the unspecified address
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, home of cloud metadata endpoints
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)


def is_public(ip: IPAddress) -> bool:
    """True when ``ip`` is a globally routable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # ::ffff:10.0.0.1 reaches 10.0.0.1; judge the address it actually reaches.
        ip = ip.ipv4_mapped
    if any(ip.version == net.version and ip in net for net in BLOCKED_NETWORKS):
        return False
    return ip.is_global and not ip.is_multicast


def check_target(url: str, resolved_ips: Iterable[IPAddress], allow_insecure_hosts: Collection[str]) -> None:
    """Raise ``PermanentDelivery`` unless ``url`` may receive alerts; messages name the host, not the URL."""
    host = check_scheme(url, allow_insecure_hosts)
    check_addresses(host, resolved_ips, allow_insecure_hosts)


def check_scheme(url: str, allow_insecure_hosts: Collection[str]) -> str:
    """The host of ``url`` if its scheme is allowed (https, or http to an allowed host); decided without DNS."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or not host:
        raise PermanentDelivery("receiver URL must be http(s) with a host")
    if parts.scheme != "https" and host not in allow_insecure_hosts:
        raise PermanentDelivery(f"receiver {host!r} must use https (or be listed in allow_insecure_hosts)")
    return host


def check_addresses(host: str, ips: Iterable[IPAddress], allow_insecure_hosts: Collection[str]) -> None:
    """Every address ``host`` resolved to must be public, unless the host is allowed."""
    host = host.lower()
    if host in allow_insecure_hosts:
        return
    resolved = tuple(ips)
    if not resolved:
        raise PermanentDelivery(f"receiver {host!r} resolved to no address")
    # Every address, not just one: the client may connect to any of them.
    blocked = sorted({str(ip) for ip in resolved if not is_public(ip)})
    if blocked:
        raise PermanentDelivery(
            f"receiver {host!r} resolves to non-public address {', '.join(blocked)} "
            "(list the host in allow_insecure_hosts to allow it)"
        )


async def resolve_host(host: str, port: int) -> tuple[IPAddress, ...]:
    """All addresses of ``host``; a DNS failure may be passing, so it is retryable."""
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RetryableDelivery(f"cannot resolve receiver {host!r}: {exc.strerror}") from None
    # getaddrinfo may append "%scope" to IPv6 link-local addresses; the scope is not part of the address.
    return tuple(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


async def check_url(
    url: str, allow_insecure_hosts: Collection[str], resolver: Resolver = resolve_host
) -> None:
    """Resolve the host of ``url`` and ``check_target`` it; allowed hosts are not resolved."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or host in allow_insecure_hosts or parts.scheme != "https":
        # Decided without DNS: allowed outright, or refused for its scheme or missing host.
        return check_target(url, (), allow_insecure_hosts)
    try:
        port = parts.port or 443
    except ValueError:
        raise PermanentDelivery(f"receiver {host!r} has an invalid port") from None
    return check_target(url, await resolver(host, port), allow_insecure_hosts)
