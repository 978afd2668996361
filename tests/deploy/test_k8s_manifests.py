"""deploy/k8s validates offline: core kinds with kubernetes-validate (the Kubernetes OpenAPI schemas it
ships), Strimzi and Prometheus Operator resources with validators generated from their CRDs
(deploy/k8s/validate, npm packages installed by deploy/local/setup.sh)."""

from __future__ import annotations

import json
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, required_tool

K8S = DEPLOY / "k8s"
VALIDATOR = K8S / "validate"
CUSTOM_GROUPS = ("kafka.strimzi.io", "monitoring.coreos.com")
KUBERNETES_VERSION = "1.33.0"


def documents() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in sorted(K8S.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def custom(doc: dict) -> bool:
    return doc["apiVersion"].split("/")[0] in CUSTOM_GROUPS


@pytest.mark.parametrize(("name", "doc"), [d for d in documents() if not custom(d[1])],
                         ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}")
def test_core_kinds_validate_strictly(name, doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_custom_resources_validate_against_their_crd_schemas():
    node = required_tool("node", "Node.js is needed for deploy/k8s/validate")
    if not (VALIDATOR / "node_modules").is_dir():
        pytest.fail("deploy/k8s/validate/node_modules missing: run bash deploy/local/setup.sh")
    items = [{"file": name, "doc": doc} for name, doc in documents() if custom(doc)]
    result = subprocess.run([node, "validate.mjs"], input=json.dumps(items), capture_output=True, text=True,
                            cwd=VALIDATOR, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = sorted({doc["kind"] for doc in (i["doc"] for i in items)})
    assert kinds == ["Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ServiceMonitor"]
    assert result.stdout.count(": valid") == len(items)


def test_the_validator_rejects_a_broken_resource():
    node = required_tool("node", "Node.js is needed for deploy/k8s/validate")
    [(name, topic)] = [(n, d) for n, d in documents() if d["kind"] == "KafkaTopic"][:1]
    broken = {**topic, "spec": {**topic["spec"], "partitions": "twelve"}}
    result = subprocess.run([node, "validate.mjs"], input=json.dumps([{"file": name, "doc": broken}]),
                            capture_output=True, text=True, cwd=VALIDATOR, check=False)
    assert result.returncode == 1 and "partitions" in result.stdout, result.stdout


def test_a_broken_core_kind_is_rejected():
    [(_, statefulset)] = [(n, d) for n, d in documents() if d["kind"] == "StatefulSet"]
    broken = json.loads(json.dumps(statefulset))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_workers_keep_table_state_on_a_volume_and_probe_healthz():
    [(_, worker)] = [(n, d) for n, d in documents() if d["kind"] == "StatefulSet"]
    [container] = worker["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    [claim] = worker["spec"]["volumeClaimTemplates"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/var/lib/vendorwatch/data"} in container["volumeMounts"]
    [config] = [d for _, d in documents() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "vendorwatch"]
    assert config["data"]["VENDORWATCH_TABLE_STORE"] == "rocksdb://"
    assert config["data"]["VENDORWATCH_DATA_DIR"] == "/var/lib/vendorwatch/data"
