"""TLS and SASL settings: validated at start-up, turned into aiokafka options and Faust credentials."""

from __future__ import annotations

import ssl
import subprocess

import faust
import pytest

from schemas.errors import ConfigError
from vendorwatch.brokers import client_options, faust_credentials
from vendorwatch.settings import load_settings

SASL = {"VENDORWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VENDORWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "VENDORWATCH_KAFKA_SASL_USERNAME": "vendorwatch", "VENDORWATCH_KAFKA_SASL_PASSWORD": "s3cret"}


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory):
    """A self-signed CA certificate made by openssl, as a cluster operator would hand one out."""
    directory = tmp_path_factory.mktemp("ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
                    "-keyout", str(directory / "ca.key"), "-out", str(directory / "ca.crt")],
                   check=True, capture_output=True)
    return directory / "ca.crt"


def test_plaintext_by_default():
    settings = load_settings({"VENDORWATCH_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092"})
    assert client_options(settings) == {"bootstrap_servers": "kafka-1:9092,kafka-2:9092",
                                        "security_protocol": "PLAINTEXT"}
    assert faust_credentials(settings) is None


def test_sasl_over_tls_with_a_private_ca(ca_file):
    settings = load_settings({**SASL, "VENDORWATCH_KAFKA_SSL_CAFILE": str(ca_file)})
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("vendorwatch", "s3cret")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in options["ssl_context"].get_ca_certs()] == [((("commonName", "test-ca"),),)]
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-512"
    assert "s3cret" not in repr(settings)


def test_tls_alone():
    settings = load_settings({"VENDORWATCH_KAFKA_SECURITY_PROTOCOL": "SSL"})
    assert isinstance(faust_credentials(settings), faust.SSLCredentials)
    assert "sasl_mechanism" not in client_options(settings)


@pytest.mark.parametrize(("env", "setting"), [
    ({**SASL, "VENDORWATCH_KAFKA_SASL_PASSWORD": ""}, "VENDORWATCH_KAFKA_SASL_PASSWORD"),
    ({"VENDORWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "VENDORWATCH_KAFKA_SASL_MECHANISM"),
    ({"VENDORWATCH_KAFKA_SASL_USERNAME": "vendorwatch"}, "VENDORWATCH_KAFKA_SASL_USERNAME"),
    ({"VENDORWATCH_KAFKA_SECURITY_PROTOCOL": "SSL", "VENDORWATCH_KAFKA_SSL_CAFILE": "/nonexistent/ca.crt"},
     "VENDORWATCH_KAFKA_SSL_CAFILE"),
    ({"VENDORWATCH_KAFKA_SECURITY_PROTOCOL": "TLS"}, "VENDORWATCH_KAFKA_SECURITY_PROTOCOL"),
    ({**SASL, "VENDORWATCH_KAFKA_SASL_MECHANISM": "GSSAPI"}, "VENDORWATCH_KAFKA_SASL_MECHANISM"),
    ({"VENDORWATCH_TABLE_STORE": "redis://"}, "VENDORWATCH_TABLE_STORE"),
])
def test_a_bad_broker_setting_stops_start_up_naming_it(env, setting):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert error.value.setting == setting


def test_a_client_certificate_needs_its_key(ca_file):
    with pytest.raises(ConfigError, match="kafka_ssl_certfile and kafka_ssl_keyfile"):
        load_settings({"VENDORWATCH_KAFKA_SECURITY_PROTOCOL": "SSL", "VENDORWATCH_KAFKA_SSL_CERTFILE": str(ca_file)})
