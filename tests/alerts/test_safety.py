from __future__ import annotations

import ipaddress

import pytest

from alerts.safety import check_target, check_url, is_public, resolve_host
from schemas.errors import PermanentDelivery, RetryableDelivery

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700::6810:84e5", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # CGNAT
        ("100.127.255.255", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ip(address)) is public


PUBLIC = [ip("93.184.216.34")]
LOOPBACK = [ip("127.0.0.1")]


@pytest.mark.parametrize(
    ("url", "ips", "allowed", "ok"),
    [
        ("https://hooks.example.com/x", PUBLIC, (), True),
        ("https://hooks.example.com/x", [*PUBLIC, ip("10.0.0.1")], (), False),  # any private address refuses
        ("https://hooks.example.com/x", [], (), False),
        ("http://hooks.example.com/x", PUBLIC, (), False),
        ("https://localhost/x", LOOPBACK, (), False),
        ("http://127.0.0.1:8080/x", LOOPBACK, ("127.0.0.1",), True),
        ("https://127.0.0.1:8080/x", LOOPBACK, ("127.0.0.1",), True),
        ("http://receiver.internal/x", [ip("10.0.0.5")], ("receiver.internal",), True),
        ("http://RECEIVER.internal/x", [ip("10.0.0.5")], ("receiver.internal",), True),
        ("ftp://hooks.example.com/x", PUBLIC, (), False),
        ("https:///nohost", PUBLIC, (), False),
    ],
)
def test_check_target(url: str, ips: list, allowed: tuple[str, ...], ok: bool) -> None:
    if ok:
        check_target(url, ips, allowed)
    else:
        with pytest.raises(PermanentDelivery):
            check_target(url, ips, allowed)


def test_messages_never_carry_the_url_path_or_query() -> None:
    url = "https://hooks.example.com/services/T000/B000/tokentokentoken?key=sekrit"
    with pytest.raises(PermanentDelivery) as info:
        check_target(url, [ip("10.0.0.1")], ())
    assert "tokentoken" not in str(info.value)
    assert "sekrit" not in str(info.value)
    assert "hooks.example.com" in str(info.value)


async def test_check_url_resolves_then_checks() -> None:
    calls: list[tuple[str, int]] = []

    async def resolver(host: str, port: int):
        calls.append((host, port))
        return (ip("169.254.169.254"),)

    with pytest.raises(PermanentDelivery):
        await check_url("https://metadata.example.com/", (), resolver)
    assert calls == [("metadata.example.com", 443)]


async def test_check_url_skips_dns_for_allowed_and_refused_hosts() -> None:
    async def resolver(host: str, port: int):
        raise AssertionError("must not resolve")

    await check_url("http://127.0.0.1:9/x", ("127.0.0.1",), resolver)
    with pytest.raises(PermanentDelivery):
        await check_url("http://example.com/x", (), resolver)


async def test_resolve_host_literal_and_localhost() -> None:
    assert await resolve_host("10.0.0.1", 443) == (ip("10.0.0.1"),)
    assert ip("127.0.0.1") in await resolve_host("localhost", 443) or ip("::1") in await resolve_host(
        "localhost", 443
    )


async def test_resolve_failure_is_retryable() -> None:
    with pytest.raises(RetryableDelivery):
        await resolve_host("does-not-exist.invalid", 443)
