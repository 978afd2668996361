"""The Prometheus rules: promtool checks them and runs their unit tests (deploy/prometheus/tests/)."""

from __future__ import annotations

import subprocess

import yaml

from tests.deploy.conftest import DEPLOY

RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=DEPLOY / "prometheus")


def test_promtool_check_rules(promtool):
    result = run(promtool, "check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULES) == 2


def test_promtool_test_rules(promtool):
    result = run(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alerting_rule_has_a_unit_test():
    alerts = {rule["alert"] for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    tested = {case["alertname"] for path in RULE_TESTS for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", ()) if case["exp_alerts"]}
    assert alerts == tested
    assert {"VendorwatchConsumerLagGrowing", "VendorwatchEventsDeadLettered", "VendorwatchDeliveryFailures",
            "VendorwatchWorkerDown", "VendorwatchRecoveryStuck"} <= alerts
