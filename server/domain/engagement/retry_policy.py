"""Retries of temporary delivery errors: exponential backoff with jitter that only adds, so that the
waits between the default 8 tries add up to at least 30 minutes (15 s, 30 s, 1 min, 2 min, 4 min,
8 min, 16 min = 31 min 45 s before jitter), capped per wait. A provider's own Retry-After can make a
wait longer, never longer than the cap."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 8
    base_delay_seconds: float = 15.0
    factor: float = 2.0
    max_delay_seconds: float = 3600.0
    jitter_fraction: float = 0.25

    def delay_before_try(self, try_number: int, rng: random.Random) -> float:
        """The wait before try `try_number` (2 = the first retry)."""
        base = min(self.base_delay_seconds * self.factor ** max(try_number - 2, 0), self.max_delay_seconds)
        return base * (1 + rng.uniform(0, self.jitter_fraction))

    def delay_after_failure(self, try_number: int, rng: random.Random, provider_wait: float | None) -> float:
        """The wait before try `try_number` after a temporary failure whose provider asked for
        `provider_wait` seconds: the longer of the two, the provider's at most the cap (the provider's
        figure is whatever its answer said: a value past any date must not stop the answer's recording)."""
        backoff = self.delay_before_try(try_number, rng)
        if provider_wait is None or not math.isfinite(provider_wait):
            return backoff
        return max(backoff, min(provider_wait, self.max_delay_seconds))

    def is_exhausted(self, tries_done: int) -> bool:
        return tries_done >= self.max_tries

    def minimum_total_wait(self) -> float:
        return sum(min(self.base_delay_seconds * self.factor ** (n - 2), self.max_delay_seconds)
                   for n in range(2, self.max_tries + 1))
