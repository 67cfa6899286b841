"""CPU time readings the benchmarks share: per process, and the machine's busy time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import psutil


def cpu_seconds_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still running (ended ones are left out)."""
    found = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            found[pid] = times.user + times.system
    return found


def machine_busy_seconds() -> float:
    """CPU seconds the machine spent not idle, on all cores."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)
