"""Deleting the topics a benchmark phase made, once it has read back what it measures.

Every stack the benchmark starts has an app id of its own and with it a dozen internal and changelog
topics (the Quix Streams peer the changelog of its state). Left on the broker, an hour of runs came to
~5,400 partitions, and the idle broker used about twice the CPU of a fresh one (docs/performance.md, item
18): later runs measured a different broker. The shared input topics stay: they hold the data set, and
they are vendorwatch's own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings


def topics_of(names: Iterable[str], owner: str) -> list[str]:
    """The topics named for ``owner`` (an app id, or the peer's consumer group): ``<owner>-...`` (a worker's
    internal and changelog topics, its dispatcher's) and ``changelog__<owner>--...`` (Quix Streams' state)."""
    return sorted(n for n in names if n.startswith(f"{owner}-") or n.startswith(f"changelog__{owner}--"))


async def delete_topics_of(settings: Settings, owner: str) -> list[str]:
    """Delete ``owner``'s topics; returns their names. A broker that refuses costs the run nothing but a
    line on stderr: the figures are taken by then."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="vendorwatch-bench-cleanup")
    try:
        await admin.start()
        doomed = topics_of(await admin.list_topics(), owner)
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    except KafkaError as error:
        print(f"bench: could not delete the topics of {owner} ({type(error).__name__}: {error})",
              file=sys.stderr, flush=True)
        return []
    finally:
        await admin.close()
