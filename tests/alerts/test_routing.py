"""Routing config: validated at start-up with messages naming the entry; routes pick receivers."""

from __future__ import annotations

import base64

import pytest

from alerts.routing import DEFAULT_RECEIVER, load_routing, parse_routing
from schemas.errors import ConfigError
from vendorwatch.settings import load_settings

SECRET = "whsec_" + base64.b64encode(b"r" * 32).decode()
ROUTING = f"""
default_receiver = "security"

[receivers.security]
kind = "webhook"
url = "https://hooks.example.com/vw"
secrets = ["{SECRET}"]

[receivers.oncall]
kind = "pagerduty"
routing_key = "pd-routing-key-123"

[receivers.chat]
kind = "slack"
url = "https://hooks.slack.com/services/T/B/XYZ"

[receivers.am]
kind = "alertmanager"
url = "http://127.0.0.1:19093"

[[routes]]
receiver = "oncall"
match = {{ severity = ["critical", "high"] }}
continue = true

[[routes]]
receiver = "chat"
match = {{ lab_id = "google" }}

[[routes]]
receiver = "am"
match = {{ lab_id = "openai", transition = "opened" }}
"""


def labels(**over: str) -> dict[str, str]:
    base = {"lab_id": "xai", "vendor_id": "scale-ai", "competitor_id": "meta", "severity": "low",
            "transition": "opened", "status": "firing"}
    return {**base, **over}


def routing_for(tmp_path, text: str = ROUTING, **env: str):
    path = tmp_path / "routing.toml"
    path.write_text(text)
    return load_routing(load_settings({"VENDORWATCH_ROUTING_FILE": str(path), **env}))


def test_routes_continue_stop_and_fall_back_to_the_default(tmp_path) -> None:
    routing = routing_for(tmp_path)
    assert routing.route(labels(severity="critical", lab_id="google")) == ("oncall", "chat")
    assert routing.route(labels(severity="high", lab_id="openai")) == ("oncall", "am")
    assert routing.route(labels(lab_id="google")) == ("chat",)
    assert routing.route(labels(lab_id="openai", transition="resolved")) == ("security",)
    assert routing.route(labels()) == ("security",)


def test_the_settings_webhook_gets_every_alert(tmp_path) -> None:
    routing = routing_for(tmp_path, VENDORWATCH_WEBHOOK_URL="https://default.example.com/h",
                          VENDORWATCH_WEBHOOK_SECRET=SECRET)
    assert routing.route(labels(lab_id="google")) == (DEFAULT_RECEIVER, "chat")
    only_env = load_routing(load_settings({"VENDORWATCH_WEBHOOK_URL": "https://d.example.com/h",
                                           "VENDORWATCH_WEBHOOK_SECRET": SECRET}))
    assert only_env.route(labels()) == (DEFAULT_RECEIVER,)
    assert only_env.receivers[DEFAULT_RECEIVER].kind == "webhook"


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('[receivers.a]\nkind = "webhook"\nurl = "https://x.example.com"\nsecrets = ["' + SECRET + '"]\ncolour = 1',
         "receivers.a.colour", "Extra inputs"),
        ('[receivers.a]\nkind = "slack"\nurl = "ftp://x.example.com/token-abc"', "receivers.a.url", "http(s)"),
        ('[receivers.a]\nkind = "webhook"\nurl = "https://x.example.com"', "receivers.a.secrets", "whsec_"),
        ('[receivers.a]\nkind = "webhook"\nurl = "https://x.example.com"\nsecrets = ["nope-sekrit"]',
         "receivers.a.secrets", "whsec_"),
        ('[receivers.a]\nkind = "pagerduty"', "receivers.a.routing_key", "required"),
        ('[receivers.a]\nkind = "carrier-pigeon"\nurl = "https://x.example.com"', "receivers.a.kind", ""),
        ('[[routes]]\nreceiver = "ghost"', "routes[0].receiver", "no receiver named 'ghost'"),
        ('[[routes]]\nreceiver = "x"\nmatch = { colour = "red" }', "routes.0.match", "unknown label"),
        ('default_receiver = "ghost"', "default_receiver", "no receiver"),
        ("unknown_top = 1", "unknown_top", "Extra inputs"),
    ],
)
def test_mistakes_stop_start_up_naming_the_entry(tmp_path, text: str, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        routing_for(tmp_path, text, VENDORWATCH_WEBHOOK_URL="https://d.example.com/h",
                    VENDORWATCH_WEBHOOK_SECRET=SECRET)
    assert where in info.value.setting
    assert problem in info.value.problem
    assert "sekrit" not in str(info.value) and "token-abc" not in str(info.value)


def test_no_receiver_at_all_stops_start_up(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        load_routing(load_settings({}))
    assert info.value.setting == "VENDORWATCH_WEBHOOK_URL"


def test_receiver_repr_and_config_repr_hide_urls_and_keys(tmp_path) -> None:
    routing = routing_for(tmp_path)
    text = repr(routing) + repr(routing.receivers) + str(parse_routing({"receivers": {}}))
    for secret in (SECRET, "pd-routing-key-123", "XYZ", "hooks.example.com"):
        assert secret not in text
