"""The decision parameters settings control, built once per worker."""

from __future__ import annotations

from alerts.policy import Policy
from streams.paths import Limits
from vendorwatch.settings import Settings


def policy_of(settings: Settings) -> Policy:
    return Policy(hysteresis_margin=settings.hysteresis_margin)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.influence_max_depth,
        min_edge_share=settings.influence_min_edge_share,
        announced_horizon_days=settings.announced_horizon_days,
    )
