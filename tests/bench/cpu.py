"""CPU time readings the benchmarks share: per process, and the machine's busy time."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from decimal import Decimal

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


def machine_speed_ms(rounds: int = 5) -> float:
    """The best of `rounds` timings of a fixed piece of pure Python (Decimal arithmetic, dicts, JSON),
    in milliseconds: how fast this machine runs Python at the moment. The development machine's speed
    varies from day to day by up to about two times; this reading lets figures of runs on different
    days be compared (lower is faster)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = Decimal(0)
        rows = []
        for number in range(20_000):
            amount = Decimal(number) / 7
            total += amount.quantize(Decimal("0.01"))
            rows.append({"id": f"a{number}", "amount": str(amount), "ok": number % 3 == 0})
        json.dumps(rows)
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)
