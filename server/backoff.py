"""Exponential backoff with full jitter: one rule for a job's retries, a worker's reconnects to Redis
and the launcher's restarts of a crashed process."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait before try `attempt + 1` after `attempt` failures (1, 2, ...): a random share of
    base * 2^(attempt-1), at most `cap`. Full jitter spreads processes that failed together (every
    worker losing Redis at once) so that they do not all come back in the same instant."""
    ceiling = min(base * 2.0 ** min(max(attempt, 1) - 1, 64), cap)
    return (rng or random).uniform(0, ceiling)
