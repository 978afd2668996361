"""Two workers, ownership chains written half on each: every chain still raises its alert.

Meta takes a holding company while the holding company takes a stake in a vendor, the two statements
published together. Their subjects differ, so each is usually applied by a different worker, whose copy
of the ownership graph may not have read the other's statement yet. Each worker's evaluator works out
what a change reaches once its copy has read it (``streams.requests``), so whichever statement a worker
reads last, it reads the whole chain and names the vendor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_seed_story_broker import CHAPTERS, alerts, publish_and_settle
from tests.e2e.test_two_workers_broker import SESSION_TIMEOUT_S, both_hold_partitions, until
from vendorwatch.local import free_port, new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

CHAINS = 64
SOURCE = "urn:vendorwatch:test:chains"


def event(event_id: str, kind: str, data: dict[str, Any]) -> str:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": SOURCE, "type": f"vendorwatch.{kind}.v1",
                       "time": "2025-07-01T09:00:00Z", "datacontenttype": "application/json", "data": data})


def stake(subject: str, party: str, percent: float) -> dict[str, Any]:
    return {"subject_id": subject, "interested_party_id": party, "status": "completed",
            "interests": [{"type": "shareholding", "share": {"exact": percent}}]}


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_chains_written_across_two_workers_each_raise_their_alert(broker_settings, tmp_path) -> None:
    secret = new_secret()
    contracts = write(tmp_path / "contracts.ndjson", [event(
        f"contract-{i}", "contract.signed",
        {"contract_id": f"google-vendor-{i}", "lab_id": "google", "vendor_id": f"vendor-{i}",
         "annual_value_usd": 1_000_000, "data_classes": ["training_data"], "sensitivity": "confidential"})
        for i in range(CHAINS)])
    # Both links of each chain in one publish, interleaved: the vendor's stake, then Meta's hold above it.
    chains = write(tmp_path / "chains.ndjson", [
        line for i in range(CHAINS) for line in (
            event(f"stake-{i}", "ownership.stated", stake(f"vendor-{i}", f"holdco-{i}", 60)),
            event(f"hold-{i}", "ownership.stated", stake(f"holdco-{i}", "meta", 100)))])
    extra = {"session_timeout_s": SESSION_TIMEOUT_S}
    async with webhook_sink(secret) as sink, \
            running_stack(broker_settings, tmp_path, sink.url, secret, extra=extra) as stack:
        second = f"http://127.0.0.1:{free_port()}"
        stack.spawn_worker("worker-b", int(second.rsplit(":", 1)[1]))
        await until(lambda: both_hold_partitions([stack.api, second]), 120, "both workers hold partitions")
        await publish_and_settle(stack, CHAPTERS[0], contracts)
        assert alerts(sink) == []

        await publish_and_settle(stack, chains)
        opened = {(a["lab_id"], a["vendor_id"], a["competitor_id"]) for a in alerts(sink)
                  if a["transition"] == "opened"}
        assert opened == {("google", f"vendor-{i}", "meta") for i in range(CHAINS)}
        by_vendor = {a["vendor_id"]: a for a in alerts(sink)}
        assert {e["id"] for e in by_vendor["vendor-0"]["evidence"]} <= {"stake-0", "hold-0"}
