"""Which event Faust writes changelog entries for: the partition of a table write without a partitioner."""

from __future__ import annotations

import weakref
from typing import Any

from faust import streams as faust_streams


def as_current(event: Any) -> None:
    """Make ``event`` the one Faust's tables write changelog entries for (its partition).

    take_batches (streams.batching) leaves the batch's last event current. Only this task's context
    variable is set: the stream's own ``current_event`` attribute is shared with its buffering task, and
    setting it here made that task file a new record under an old event, losing the record.
    """
    faust_streams._current_event.set(weakref.ref(event))
