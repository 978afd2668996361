"""schemathesis against the served /openapi.json: no server errors, no response that breaks the document.

The app runs on a loopback port with a fake sink (no Kafka), so every generated request is cheap.
``positive_data_acceptance`` is left out: the exported JSON Schemas cannot state the models' cross-field
rules (a share is exact *or* a range; an org is not its own parent; interests unless closed), so some
schema-valid events are rightly refused with 422. Everything else schemathesis checks is on.
"""

from __future__ import annotations

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ingest.app import Limits
from ingest.openapi import build_document
from tests.ingest.conftest import ALL_TOKEN, auth

POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# (method, path, mode, examples): the GETs take no input, so there is nothing negative to generate for them.
RUNS = [("POST", "/v1/events", POSITIVE, 150), ("POST", "/v1/events", NEGATIVE, 150),
        ("GET", "/healthz", POSITIVE, 5), ("GET", "/openapi.json", POSITIVE, 5)]


# schemathesis' pytest integration (parametrize / from_fixture) needs the schema at import time or breaks on
# pytest 9's node ids; its Python API gives the same strategies and checks inside an ordinary test.
@pytest.mark.parametrize(("method", "path", "mode", "examples"), RUNS)
def test_api_conforms_to_its_document(served_app, method, path, mode, examples):
    operation = schemathesis.openapi.from_url(f"{served_app.url}/openapi.json")[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    # derandomize: the same examples every run, so CI is repeatable; widen max_examples to explore more.
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    def conforms(case):
        response = case.call(base_url=served_app.url, headers=auth(ALL_TOKEN))
        assert response.status_code < 500, response.text
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    conforms()


def test_the_document_is_valid_openapi_3_1(served_app):
    document = requests.get(f"{served_app.url}/openapi.json", timeout=5).json()
    assert document == build_document(Limits(max_body_bytes=256 * 1024, max_batch=50))
    assert document["openapi"] == "3.1.0"
    # Every data schema is a valid JSON Schema 2020-12 once its references are resolved in the document.
    for component in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(component)


def test_the_data_schemas_are_the_exported_ones():
    components = build_document(Limits())["components"]["schemas"]
    data = components["vendorwatch.contract.signed.v1.data"]
    assert "schemas/json/vendorwatch.contract.signed.v1.json" in data["description"]
    assert data["properties"]["annual_value_usd"]["minimum"] == 0
    assert "vendorwatch.alert.v1" not in components, "alerts are not published through ingest"
