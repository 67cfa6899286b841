"""server.loop_watch: a loop held by synchronous work is reported as a stall, with the collection that
ran in it; every collection's pause goes to the histogram."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from server.loop_watch import GcPauses, watch_loop


def _collections(generation: int) -> float:
    return REGISTRY.get_sample_value("engage_gc_pause_seconds_count", {"generation": str(generation)}) or 0.0


def test_each_collection_is_observed_and_the_longest_kept() -> None:
    pauses = GcPauses()
    before = _collections(1)
    pauses("start", {"generation": 1})
    pauses("stop", {"generation": 1, "collected": 0, "uncollectable": 0})
    assert _collections(1) == before + 1
    longest, generation = pauses.take_longest()
    assert generation == 1 and longest >= 0
    assert pauses.take_longest() == (0.0, -1)  # asked once: forgotten


async def test_a_held_loop_is_logged_as_stalled_with_its_collection() -> None:
    with capture_logs() as logs:
        watch = asyncio.create_task(watch_loop(probe_seconds=0.01, stall_seconds=0.05))
        await asyncio.sleep(0.03)  # the watch is waiting on its timer
        time.sleep(0.2)  # noqa: ASYNC251 - the point: the loop held, its timer at least 0.19 s late
        gc.collect()
        await asyncio.sleep(0.05)
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    stalls = [entry for entry in logs if entry["event"] == "event_loop_stalled"]
    assert stalls, logs
    assert stalls[0]["log_level"] == "warning"
    assert stalls[0]["ms"] >= 150
    assert stalls[0]["gc_generation"] == 2
    assert not any(isinstance(callback, GcPauses) for callback in gc.callbacks)  # removed when cancelled
