"""The report's "what went wrong" table: deliveries that failed for good or were given up, by channel
and reason, the most first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clients.html_report.model import DeliveryOutcomeCount

FAILURE_STATES = ("FAILED", "DEAD_LETTER")


@dataclass(frozen=True)
class Problem:
    channel: str
    state: str
    reason: str
    deliveries: int


def delivery_problems(outcomes: Iterable[DeliveryOutcomeCount]) -> tuple[Problem, ...]:
    totals: dict[tuple[str, str, str], int] = {}
    for outcome in outcomes:
        if outcome.state in FAILURE_STATES and outcome.deliveries:
            key = (outcome.channel, outcome.state, outcome.reason)
            totals[key] = totals.get(key, 0) + outcome.deliveries
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Problem(channel, state, reason, count) for (channel, state, reason), count in ranked)
