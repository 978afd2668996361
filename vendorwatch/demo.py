"""``vendorwatch demo``: the seed story end to end on a local broker, printing alerts as they arrive.

Starts the project's Apache Kafka if nothing answers at ``VENDORWATCH_KAFKA_BOOTSTRAP``, a worker and a
dispatcher as real processes, and a local Standard Webhooks receiver that verifies each delivery; then
publishes the story chapter by chapter (months apart in real life), waiting for each to settle.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from vendorwatch.local import STORY_DIR, broker_answers, new_secret, running_stack, start_local_broker
from vendorwatch.settings import Settings
from vendorwatch.sink import WebhookSink, webhook_sink

CHAPTERS = (
    ("2024: labs, vendors and investors declared; Google, Microsoft, OpenAI, xAI and Meta contract with Scale AI",
     "01-before.ndjson"),
    ("June 2025: Meta takes 49% of Scale AI; Scale's CEO moves to Meta and keeps his seat on Scale's board",
     "02-meta-takes-49-percent.ndjson"),
    ("June 2025: Google signs with Turing, Labelbox and Handshake, then terminates Scale AI",
     "03-google-leaves-scale.ndjson"),
)


def run_demo(settings: Settings, *, start_broker: bool = True) -> int:
    if not broker_answers(settings.kafka_bootstrap):
        if not start_broker:
            print(f"no Kafka broker answers at {settings.kafka_bootstrap}")
            return 1
        print(f"starting the local Apache Kafka broker at {settings.kafka_bootstrap} (first run fetches its jars)")
        start_local_broker(settings.kafka_bootstrap)
    return asyncio.run(_demo(settings))


async def _demo(settings: Settings) -> int:
    secret = new_secret()
    with tempfile.TemporaryDirectory(prefix="vendorwatch-demo-") as tmp:
        async with webhook_sink(secret) as sink:
            async with running_stack(settings, Path(tmp), sink.url, secret) as stack:
                print(f"worker and dispatcher up (app id {stack.app_id}); webhooks go to {sink.url}\n")
                printed = 0
                for title, name in CHAPTERS:
                    print(f"== {title}")
                    result = stack.publish(STORY_DIR / name)
                    if result.returncode != 0:
                        print(result.stderr)
                        return 1
                    await stack.wait_quiet()
                    before, printed = printed, _print_new(sink, printed)
                    if printed == before:
                        print("   (no alerts)")
                    print()
                exposure = await stack.exposure("google")
                print(f"Google's exposure now: {_exposure_line(exposure)}")
    return 0


def _print_new(sink: WebhookSink, already: int) -> int:
    deliveries = list(sink.unique().values())
    for delivery in deliveries[already:]:
        alert = delivery.body["data"]
        print(f"   [{alert['severity']:>8}] {alert['transition']:<11} {alert['lab_id']} <- "
              f"{alert['competitor_id']} at {alert['vendor_id']}: {alert['summary']}")
    return len(deliveries)


def _exposure_line(exposure: dict[str, Any]) -> str:
    vendors = ", ".join(
        f"{v['vendor_id']} ${v['annual_value_usd'] / 1e6:,.0f}M" + (" (conflicted)" if v["conflicts"] else "")
        for v in exposure["vendors"]
    )
    return f"${exposure['annual_value_usd'] / 1e6:,.0f}M/yr across {vendors}"
