"""Influence through chains on a real broker: shuffled publication order gives the same alerts, and a
divestiture resolves them."""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path

import pytest

from vendorwatch.local import new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]


class Story:
    """Two named cases from the issue, with ids unique to this run (the topics are shared)."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.count = 0

    def id(self, name: str) -> str:
        return f"{name}-{self.run}"

    def event(self, type_: str, data: dict) -> dict:
        self.count += 1
        return {"specversion": "1.0", "id": f"chain-{self.run}-{self.count}", "source": "urn:test:chains",
                "type": f"vendorwatch.{type_}.v1", "time": f"2025-01-01T00:00:{self.count:02d}Z", "data": data}

    def stake(self, subject: str, party: str, interest: str, share: float, status: str = "completed") -> dict:
        interests = [{"type": interest, "share": {"exact": share}}] if status != "closed" else []
        return self.event("ownership.stated", {"subject_id": self.id(subject), "interested_party_id": self.id(party),
                                               "status": status, "interests": interests})

    def events(self) -> list[dict]:
        org = lambda name, kind: self.event("org.declared", {"org_id": self.id(name), "name": name, "kind": kind})  # noqa: E731
        return [
            org("lab", "lab"), org("rival", "lab"), org("holdco", "other"), org("holdco2", "other"),
            org("vendor", "vendor"), org("vendor2", "vendor"),
            self.event("competitors.declared", {"lab_id": self.id("lab"), "competitors": [self.id("rival")]}),
            *[self.event("contract.signed", {"contract_id": self.id(f"c-{v}"), "lab_id": self.id("lab"),
                                             "vendor_id": self.id(v), "annual_value_usd": 1_000_000,
                                             "sensitivity": "confidential"}) for v in ("vendor", "vendor2")],
            # 60% of a holding company that owns 30% of the vendor: 18% -> medium.
            self.stake("holdco", "rival", "shareholding", 60),
            self.stake("vendor", "holdco", "shareholding", 30),
            # 51% of the votes of a holding company that owns 30%: control passes the whole 30% -> high.
            self.stake("holdco2", "rival", "votingRights", 51),
            self.stake("vendor2", "holdco2", "shareholding", 30),
        ]

    def outcome(self, alerts: list[dict]) -> set[tuple[str, ...]]:
        strip = lambda value: value.removesuffix(f"-{self.run}")  # noqa: E731
        return {(strip(a["lab_id"]), strip(a["vendor_id"]), strip(a["competitor_id"]), a["transition"], a["severity"])
                for a in alerts}


def write(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


async def run_shuffled(broker_settings, tmp_path: Path, seed: int) -> tuple[set, set]:
    story = Story(secrets.token_hex(4))
    events = story.events()
    random.Random(seed).shuffle(events)  # noqa: S311 - a reproducible shuffle, not security
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(broker_settings, tmp_path, sink.url, secret) as stack:
        assert stack.publish(write(tmp_path / "shuffled.ndjson", events)).returncode == 0
        await stack.wait_quiet()
        opened = story.outcome([d.body["data"] for d in sink.unique().values()])
        divest = [story.stake("holdco", "rival", "shareholding", 0, status="closed"),
                  story.stake("holdco2", "rival", "votingRights", 0, status="closed")]
        assert stack.publish(write(tmp_path / "divest.ndjson", divest)).returncode == 0
        await stack.wait_quiet()
        everything = story.outcome([d.body["data"] for d in sink.unique().values()])
    return opened, everything - opened


async def test_chain_alerts_do_not_depend_on_publication_order(broker_settings, tmp_path):
    expected_opened = {("lab", "vendor", "rival", "opened", "medium"), ("lab", "vendor2", "rival", "opened", "high")}
    expected_resolved = {("lab", "vendor", "rival", "resolved", "medium"),
                         ("lab", "vendor2", "rival", "resolved", "high")}
    for seed in (1, 2):
        opened, resolved = await run_shuffled(broker_settings, tmp_path / f"seed-{seed}", seed)
        assert opened == expected_opened, f"shuffle {seed}"
        assert resolved == expected_resolved, f"shuffle {seed}"
