"""Two workers in one consumer group on the real broker: split partitions, one API, takeover on a kill.

Both workers answer ``/v1/labs/{lab}/exposure`` for every lab: a lab whose exposure partition the other
worker owns is proxied to it (Faust's ``table_route``, through each worker's advertised URL). When one
worker is SIGKILLed, the other takes its partitions over, recovers their table state from the changelogs
and answers for every lab again; alerts keep flowing. Prints the takeover time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.e2e.test_seed_story_broker import CHAPTERS, alerts, publish_and_settle
from vendorwatch.local import free_port, new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

LABS = ("google", "meta", "microsoft", "openai", "xai")
SESSION_TIMEOUT_S = 6.0  # the setting's minimum: the survivor takes over sooner


async def health(api: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        try:
            response = await client.get(f"{api}/healthz", timeout=5)
        except httpx.HTTPError as error:  # not listening yet, or killed
            return {"status": f"unreachable: {error!r}"}
        body: dict[str, Any] = response.json()
        return body


async def exposures(api: str) -> dict[str, Any] | None:
    """Every lab's exposure as ``api`` answers it, or None while any answer is not a 200."""
    answers: dict[str, Any] = {}
    async with httpx.AsyncClient() as client:
        for lab in LABS:
            try:
                response = await client.get(f"{api}/v1/labs/{lab}/exposure", timeout=5)
            except httpx.HTTPError:
                return None
            if response.status_code != 200:
                return None
            answers[lab] = response.json()
    return answers


async def until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s")


async def both_hold_partitions(apis: list[str]) -> bool:
    bodies = [await health(api) for api in apis]
    return all(b["status"] == "ok" and b["assigned_partitions"] > 0 for b in bodies)


def conflicted(answers: dict[str, Any]) -> dict[str, float]:
    return {lab: answer["conflicted_value_usd"] for lab, answer in answers.items()}


async def test_two_workers_split_partitions_serve_every_lab_and_take_over(broker_settings, tmp_path) -> None:
    secret = new_secret()
    extra = {"session_timeout_s": SESSION_TIMEOUT_S}
    async with webhook_sink(secret) as sink, \
            running_stack(broker_settings, tmp_path, sink.url, secret, extra=extra) as stack:
        second = f"http://127.0.0.1:{(port := free_port())}"
        stack.spawn_worker("worker-b", port)
        apis = [stack.api, second]
        await until(lambda: both_hold_partitions(apis), 120, "both workers ready with partitions of their own")

        await publish_and_settle(stack, CHAPTERS[0], CHAPTERS[1])
        first, other = await exposures(stack.api), await exposures(second)
        assert first is not None and other is not None
        assert first == other, "either worker answers for every lab, whichever owns its partition"
        assert conflicted(first)["google"] > 0 and conflicted(first)["meta"] == 0
        opened = {a["lab_id"] for a in alerts(sink)}
        assert opened == {"google", "microsoft", "openai", "xai"}

        killed_at = time.monotonic()
        stack.kill("worker")
        taken_over = await until(lambda: _answers_alone(second, first), 120, "the survivor answers for every lab")
        takeover_s = time.monotonic() - killed_at
        assert taken_over

        # Alerts keep flowing through the survivor: Google leaves Scale, its alert resolves.
        await publish_and_settle(stack, CHAPTERS[2])
        resolved = [a for a in alerts(sink) if a["transition"] == "resolved"]
        assert [(a["lab_id"], a["vendor_id"]) for a in resolved] == [("google", "scale-ai")]
        after = await exposures(second)
        assert after is not None and conflicted(after)["google"] == 0
        print(f"\ntwo workers: takeover after SIGKILL {takeover_s:.1f}s (session timeout {SESSION_TIMEOUT_S}s); "
              f"labs answered by the survivor {len(LABS)}/{len(LABS)}; alerts delivered {len(sink.unique())}")


async def _answers_alone(api: str, expected: dict[str, Any]) -> bool:
    """The survivor holds every partition (healthy) and answers every lab as before the kill."""
    body = await health(api)
    if body["status"] != "ok":
        return False
    return await exposures(api) == expected

