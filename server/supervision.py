"""The launcher's children: each is started again, after a backoff, when it exits unasked, instead of
the whole stack stopping with it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.backoff import backoff_seconds

# A child that ran this long before it exited is taken as having been healthy: its next restart waits
# the shortest time again.
STABLE_SECONDS = 60.0
RESTART_BASE_SECONDS = 1.0
RESTART_CAP_SECONDS = 30.0


def say(message: str) -> None:
    print(f"[engage] {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    """A supervised process: `start` makes a new one (a Popen); `stop` ends it gently."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)

    def launch(self, now: float) -> None:
        self.process = self.start()
        self.started_at = now
        self.restart_at = None


class Supervisor:
    def __init__(self, children: list[Child], clock: Callable[[], float] = time.monotonic) -> None:
        self.children = children
        self._clock = clock

    def start_all(self) -> None:
        """Starts every child not running yet (one started before, as the embedded Redis is, keeps its
        process)."""
        for child in self.children:
            if child.process is None:
                child.launch(self._clock())

    def tend(self) -> None:
        """One look at every child: a child that exited is scheduled for a restart, a scheduled one
        whose wait is over is started."""
        now = self._clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    say(f"restarting {child.name} (restart {child.restarts})")
                    child.launch(now)
                continue
            code = child.process.poll() if child.process is not None else None
            if code is None:
                continue
            child.exit_codes.append(code)
            ran = now - child.started_at
            child.failures_in_a_row = 1 if ran >= STABLE_SECONDS else child.failures_in_a_row + 1
            wait = backoff_seconds(child.failures_in_a_row, RESTART_BASE_SECONDS, RESTART_CAP_SECONDS)
            child.restart_at = now + wait
            say(f"{child.name} exited with code {code} after {ran:.1f} s; restarting it in {wait:.1f} s")

    def stop_all(self, grace_seconds: float) -> None:
        """SIGTERM to every running child, then SIGKILL to any still running after the grace."""
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
