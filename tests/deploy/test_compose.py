"""deploy/compose.yaml: `docker compose config` accepts it (the plugin is built by deploy/local/compose.sh;
no daemon is needed), and it wires what the issue asks for. The Dockerfile builds a slim, non-root image."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, REPO, required_tool

COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def resolved() -> dict:
    docker = required_tool("docker", "the docker CLI")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if version.returncode != 0:
        pytest.fail("docker compose plugin missing: run bash deploy/local/compose.sh")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--format", "json"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_config_validates_with_every_service(resolved):
    assert sorted(resolved["services"]) == ["alertmanager", "dispatcher", "grafana", "kafka", "prometheus", "topics",
                                            "webhook-sink", "worker-0", "worker-1"]
    kafka = resolved["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_workers_keep_rocksdb_state_on_their_own_volumes(resolved):
    workers = [resolved["services"][name] for name in ("worker-0", "worker-1")]
    assert [w["command"] for w in workers] == [["worker"], ["worker"]]
    assert {w["environment"]["VENDORWATCH_TABLE_STORE"] for w in workers} == {"rocksdb://"}
    volumes = [v["source"] for w in workers for v in w["volumes"] if v["target"] == "/var/lib/vendorwatch/data"]
    assert volumes == ["worker-0-data", "worker-1-data"]
    assert all(w["depends_on"]["topics"]["condition"] == "service_completed_successfully" for w in workers)


def test_every_bind_mount_exists_and_grafana_is_provisioned(resolved):
    binds = [Path(v["source"]) for s in resolved["services"].values() for v in s.get("volumes", ())
             if v["type"] == "bind"]
    assert binds and all(path.exists() for path in binds), [str(p) for p in binds if not p.exists()]
    grafana = {v["target"]: Path(v["source"]) for v in resolved["services"]["grafana"]["volumes"]}
    assert sorted(p.name for p in grafana["/var/lib/grafana/dashboards"].glob("*.json")) == [
        "vendorwatch-exposure.json", "vendorwatch-ops.json"]
    assert (grafana["/etc/grafana/provisioning"] / "datasources" / "prometheus.yml").is_file()


def test_a_broken_compose_file_is_refused(tmp_path):
    docker = required_tool("docker", "the docker CLI")
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("    depends_on: [prometheus]", "    depends_on: prometheus"))
    result = subprocess.run([docker, "compose", "-f", str(broken), "config", "--quiet"], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0 and "depends_on" in result.stderr


def test_the_image_is_slim_and_runs_as_a_non_root_user():
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    assert [line for line in lines if line.startswith("FROM")][-1] == "FROM python:3.11-slim"
    [user] = [line for line in lines if line.startswith("USER")]
    assert user.split()[1].split(":")[0] not in {"0", "root"}
    sources = [line.split()[1] for line in lines if line.startswith("COPY") and "--from" not in line]
    assert all((REPO / source).exists() for source in sources if source != "./")
