"""A worker killed with SIGKILL recovers its tables from the changelogs and carries on where it stopped."""

from __future__ import annotations

import pytest

from vendorwatch.local import STORY_DIR, new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

CHAPTERS = sorted(STORY_DIR.glob("*.ndjson"))


async def test_worker_killed_mid_story_recovers_state_and_resolves(broker_settings, tmp_path):
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(broker_settings, tmp_path, sink.url, secret) as stack:
        for chapter in CHAPTERS[:2]:
            assert stack.publish(chapter).returncode == 0
            await stack.wait_quiet()
        opened = {d.body["data"]["lab_id"]: d.body["data"] for d in sink.unique().values()}
        assert sorted(opened) == ["google", "microsoft", "openai", "xai"]

        stack.kill("worker")
        stack.spawn("worker")
        await stack.wait_ready()
        # Everything the killed worker knew came back: orgs, competitor sets and the ownership graph
        # (global tables), contracts and alert state (partitioned), and the exposure view.
        recovered = await stack.exposure("microsoft")
        assert recovered["vendors"][0]["conflicts"][0]["alert_id"] == opened["microsoft"]["alert_id"]

        assert stack.publish(CHAPTERS[2]).returncode == 0
        await stack.wait_quiet()
        later = [d.body["data"] for d in sink.unique().values() if d.body["data"]["transition"] != "opened"]
        assert [(a["lab_id"], a["transition"], a["alert_id"]) for a in later] == [
            ("google", "resolved", opened["google"]["alert_id"])]
        assert len(sink.unique()) == 5, "no transition was sent twice with a new id, none was lost"
