"""A real Prometheus (Debian's package) scrapes a worker and a dispatcher through the seed story; then every
expression of every dashboard panel and every recording rule is evaluated through its HTTP API, and each
must return at least one series. ``promtool check metrics`` lints both live /metrics pages.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.conftest import DEPLOY
from tests.e2e.test_seed_story_broker import CHAPTERS, publish_and_settle
from vendorwatch.local import free_port, new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

# What Grafana puts in place of its variables: a window wide enough to hold the whole story.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "10m", "$__interval": "15s", "$lab": ".*"}


def panel_expressions() -> list[tuple[str, str]]:
    found = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", ()):
                found.append((f"{path.stem}: {panel['title']}", target["expr"]))
    return found


def recording_rules() -> list[tuple[str, str]]:
    found = []
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [(rule["record"], rule["expr"]) for rule in group["rules"] if "record" in rule]
    return found


def with_grafana_variables(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown variable in {expr}"
    return expr


@contextmanager
def prometheus(binary: str, workdir: Path, worker: str, dispatcher: str):
    """The compose Prometheus config, pointed at these processes, scraping and evaluating every second."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(DEPLOY / "prometheus" / "rules" / "*.yml")]
    config.pop("alerting")
    targets = {"vendorwatch-worker": [worker], "vendorwatch-dispatcher": [dispatcher]}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not _ready(url):
            assert process.poll() is None and time.monotonic() < deadline, (workdir / "prometheus.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def instant(client: httpx.AsyncClient, url: str, expr: str) -> list[dict]:
    response = await client.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
    result: list[dict] = body["data"]["result"]
    return result


async def series_within(client: httpx.AsyncClient, url: str, expr: str, timeout: float) -> list[dict]:
    """Gauges refresh every few seconds and rules every second: allow them a moment before calling it empty."""
    deadline = time.monotonic() + timeout
    while not (result := await instant(client, url, expr)) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    return result


async def conflicted_labs(client: httpx.AsyncClient, url: str, expected: list[str]) -> list[str]:
    """The labs with conflicted exposure, once they are ``expected`` or after 20 s (the gauge lags a refresh)."""
    deadline = time.monotonic() + 20
    while True:
        exposure = await instant(client, url, "vendorwatch:conflicted_exposure_usd:by_lab_competitor")
        labs = sorted(s["metric"]["lab"] for s in exposure)
        if labs == expected or time.monotonic() > deadline:
            return labs
        await asyncio.sleep(1)


def lint(promtool: str, text: str) -> str:
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                            check=False)
    return f"exit {result.returncode}: {result.stdout}{result.stderr}" if result.returncode else ""


async def test_dashboards_and_rules_have_data_from_a_live_stack(broker_settings, tmp_path, promtool,
                                                                prometheus_binary):
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(broker_settings, tmp_path, sink.url, secret) as stack:
        worker = f"127.0.0.1:{stack.settings.http_port}"
        dispatcher = f"127.0.0.1:{stack.settings.dispatcher_http_port}"
        with prometheus(prometheus_binary, tmp_path, worker, dispatcher) as url:
            for chapter in CHAPTERS:
                await publish_and_settle(stack, chapter)
            assert len(sink.unique()) == 5, "the story's four openings and Google's resolution"

            async with httpx.AsyncClient() as client:
                pages = {name: (await client.get(f"http://{target}/metrics", timeout=10)).text
                         for name, target in (("worker", worker), ("dispatcher", dispatcher))}
                assert {name: lint(promtool, text) for name, text in pages.items()} == {"worker": "", "dispatcher": ""}
                assert re.search(r'vendorwatch_conflicted_exposure_usd\{competitor="meta",lab="microsoft",'
                                 r'severity="high",vendor="scale-ai"\} \d', pages["worker"]), pages["worker"]

                empty, checked = [], 0
                for where, expr in [*panel_expressions(), *recording_rules()]:
                    result = await series_within(client, url, with_grafana_variables(expr), timeout=20)
                    checked += 1
                    if not result:
                        empty.append(f"{where}: {expr}")
                for record, _ in recording_rules():
                    checked += 1
                    if not await series_within(client, url, record, timeout=20):
                        empty.append(f"recorded series {record}")
                assert empty == [], "no series for:\n" + "\n".join(empty)
                print(f"{checked} expressions evaluated, each returned series")

                labs = await conflicted_labs(client, url, ["microsoft", "openai", "xai"])
                assert labs == ["microsoft", "openai", "xai"], "Google's conflict ended when it left Scale AI"
                response = await client.get(f"{url}/api/v1/label/lab/values",
                                            params={"match[]": "vendorwatch_conflicted_exposure_usd"})
                # The dashboard's lab variable: every lab conflicted at some point (Google until it left Scale AI).
                assert response.json()["data"] == ["google", *labs]
                opened = await instant(client, url, 'vendorwatch_alert_transitions_total{transition="opened"}')
                assert sum(float(s["value"][1]) for s in opened) == 4
