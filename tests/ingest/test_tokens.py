"""Token grants from settings: hashed, checked at start-up with the setting named, compared in constant time."""

from __future__ import annotations

import json

import pytest

from ingest.tokens import authenticate, hash_token, new_token, parse_grants
from schemas.errors import ConfigError
from schemas.registry import CONTRACT_SIGNED, INPUT_TYPES
from vendorwatch.settings import load_settings


def test_a_grant_matches_only_its_own_token():
    token = new_token()
    (grant,) = parse_grants({"feed": {"hash": hash_token(token), "types": [CONTRACT_SIGNED]}})
    assert authenticate([grant], token) is grant
    assert authenticate([grant], token + "x") is None
    assert grant.allows(CONTRACT_SIGNED) and not grant.allows("vendorwatch.org.declared.v1")


def test_star_means_every_input_type_but_never_alerts():
    (grant,) = parse_grants({"all": {"hash": hash_token("t"), "types": ["*"]}})
    assert grant.types == INPUT_TYPES and not grant.allows("vendorwatch.alert.v1")


@pytest.mark.parametrize(("entry", "problem"), [
    ({"hash": "sha256:abc", "types": ["*"]}, "'hash' must be"),
    ({"hash": "vwi_the-token-itself", "types": ["*"]}, "'hash' must be"),
    ({"hash": hash_token("t"), "types": []}, "'types' must be"),
    ({"hash": hash_token("t"), "types": ["vendorwatch.alert.v1"]}, "not input event types"),
    ({"hash": hash_token("t")}, "exactly 'hash' and 'types'"),
])
def test_bad_entries_stop_start_up_naming_the_setting(entry, problem):
    with pytest.raises(ConfigError) as caught:
        parse_grants({"feed": entry})
    assert caught.value.setting == "VENDORWATCH_INGEST_TOKENS"
    assert problem in caught.value.problem
    assert "vwi_the-token-itself" not in str(caught.value), "a pasted token is never echoed"


def test_settings_take_json_from_the_environment_and_reject_bad_json():
    raw = json.dumps({"feed": {"hash": hash_token("t"), "types": ["*"]}})
    settings = load_settings({"VENDORWATCH_INGEST_TOKENS": raw})
    assert parse_grants(settings.ingest_tokens)[0].name == "feed"
    with pytest.raises(ConfigError) as caught:
        load_settings({"VENDORWATCH_INGEST_TOKENS": "{not json"})
    assert caught.value.setting == "VENDORWATCH_INGEST_TOKENS"


def test_settings_take_a_toml_table_from_the_config_file(tmp_path):
    config = tmp_path / "vendorwatch.toml"
    config.write_text(f'[ingest_tokens.feed]\nhash = "{hash_token("t")}"\ntypes = ["{CONTRACT_SIGNED}"]\n')
    settings = load_settings({"VENDORWATCH_CONFIG_FILE": str(config)})
    assert parse_grants(settings.ingest_tokens)[0].types == {CONTRACT_SIGNED}


def test_two_names_for_one_token_are_refused():
    with pytest.raises(ConfigError, match="same hash"):
        parse_grants({"a": {"hash": hash_token("t"), "types": ["*"]}, "b": {"hash": hash_token("t"), "types": ["*"]}})
