"""Where a worker tells the others to send proxied queries, and the settings that shape it."""

from __future__ import annotations

import socket

import pytest

from schemas.errors import ConfigError
from streams.app import advertised_url
from vendorwatch.settings import load_settings


def test_default_is_the_bound_host_and_port() -> None:
    settings = load_settings({"VENDORWATCH_HTTP_HOST": "10.1.2.3", "VENDORWATCH_HTTP_PORT": "7000"})
    assert advertised_url(settings) == "http://10.1.2.3:7000"


def test_a_wildcard_bind_advertises_the_host_name() -> None:
    settings = load_settings({"VENDORWATCH_HTTP_HOST": "0.0.0.0", "VENDORWATCH_HTTP_PORT": "7000"})
    assert advertised_url(settings) == f"http://{socket.gethostname()}:7000"


def test_an_explicit_url_wins_without_its_trailing_slash() -> None:
    settings = load_settings({"VENDORWATCH_ADVERTISED_URL": "http://worker-1.vendorwatch.svc:6066/"})
    assert advertised_url(settings) == "http://worker-1.vendorwatch.svc:6066"


@pytest.mark.parametrize("value", ["worker-1:6066", "ftp://worker-1:6066", "http://worker-1"])
def test_a_bad_url_stops_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="VENDORWATCH_ADVERTISED_URL"):
        load_settings({"VENDORWATCH_ADVERTISED_URL": value})


def test_standby_replicas_are_bounded() -> None:
    with pytest.raises(ConfigError, match="VENDORWATCH_STANDBY_REPLICAS"):
        load_settings({"VENDORWATCH_STANDBY_REPLICAS": "9"})
