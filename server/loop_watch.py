"""What makes every call of a server process wait, measured from inside it: its event loop running late
(one callback holding the loop: a long computation, a synchronous call, a collection; or the machine's
other work taking the core) and its garbage collections. Both go to metrics
(engage_event_loop_lag_seconds, engage_gc_pause_seconds), and a stall past a threshold to the log with
the collection that caused it, if one did: a tail latency is then told apart from a slow database."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import structlog

from server.metrics import GC_PAUSE_SECONDS, LOOP_LAG_SECONDS

log = structlog.get_logger("engage.loop")

PROBE_SECONDS = 0.05  # a timer this far ahead, again and again: negligible work, a stall seen within this
STALL_SECONDS = 0.1  # a lag from here on is logged (WARNING)


class GcPauses:
    """gc.callbacks: each collection's duration, into the histogram; the longest since last asked."""

    def __init__(self) -> None:
        self._started = 0.0
        self.longest = 0.0
        self.longest_generation = -1
        self._observed = [GC_PAUSE_SECONDS.labels(str(generation)) for generation in range(3)]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        generation = int(info.get("generation", 2))
        self._observed[min(max(generation, 0), 2)].observe(pause)
        if pause > self.longest:
            self.longest, self.longest_generation = pause, generation

    def take_longest(self) -> tuple[float, int]:
        longest = self.longest, self.longest_generation
        self.longest, self.longest_generation = 0.0, -1
        return longest


async def watch_loop(probe_seconds: float = PROBE_SECONDS, stall_seconds: float = STALL_SECONDS) -> None:
    """Runs until cancelled. The lag is measured with time.perf_counter: uvloop's loop.time() is the time
    the loop's iteration began, in milliseconds."""
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    try:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(probe_seconds)
            lag = max(0.0, time.perf_counter() - before - probe_seconds)
            LOOP_LAG_SECONDS.observe(lag)
            collection, generation = pauses.take_longest()
            if lag >= stall_seconds:
                log.warning("event_loop_stalled", ms=round(lag * 1000, 1),
                            longest_gc_ms=round(collection * 1000, 1), gc_generation=generation)
    finally:
        gc.callbacks.remove(pauses)
