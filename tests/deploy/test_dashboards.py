"""The Grafana dashboards: the committed JSON is what the generator writes, and it is portable."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.deploy.conftest import DEPLOY

DASHBOARD_DIR = DEPLOY / "grafana" / "dashboards"


def generator():
    spec = importlib.util.spec_from_file_location("generate_dashboards", DEPLOY / "grafana" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def datasource_refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            yield node["datasource"]
        for value in node.values():
            yield from datasource_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from datasource_refs(value)


def test_committed_json_matches_the_generator():
    module = generator()
    assert sorted(module.DASHBOARDS) == sorted(dashboards()) == ["vendorwatch-exposure.json", "vendorwatch-ops.json"]
    for name, build in module.DASHBOARDS.items():
        committed = (DASHBOARD_DIR / name).read_text()
        assert committed == module.render(build), f"{name} drifted: run python deploy/grafana/generate.py"
    assert module.main(["--check"]) == 0


def test_the_check_fails_on_drift(tmp_path, monkeypatch):
    module = generator()
    for name in module.DASHBOARDS:
        (tmp_path / name).write_text((DASHBOARD_DIR / name).read_text().replace("p95", "p99"))
    monkeypatch.setattr(module, "OUT_DIR", tmp_path)
    assert module.main(["--check"]) == 1


@pytest.mark.parametrize("name", ["vendorwatch-ops.json", "vendorwatch-exposure.json"])
def test_one_datasource_variable_and_no_hard_coded_uid(name):
    board = dashboards()[name]
    [variable] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert (variable["name"], variable["query"]) == ("datasource", "prometheus")
    refs = list(datasource_refs(board))
    assert refs and all(ref == {"type": "prometheus", "uid": "${datasource}"} for ref in refs)
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert panels and all(p.get("targets") and all(t["expr"] for t in p["targets"]) for p in panels)
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
