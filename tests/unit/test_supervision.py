"""The launcher's supervision: a child that exits unasked is started again after a backoff that grows
while it keeps failing and starts over once it has run for a while."""

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from server.backoff import backoff_seconds
from server.supervision import RESTART_BASE_SECONDS, RESTART_CAP_SECONDS, STABLE_SECONDS, Child, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing_child() -> Child:
    return Child("worker", lambda: subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]))


def exited(child: Child) -> Child:
    assert child.process is not None
    child.process.wait()
    return child


def test_a_child_that_exits_is_started_again_after_its_wait():
    clock = Clock()
    child = failing_child()
    supervisor = Supervisor([child], clock)
    supervisor.start_all()
    exited(child)
    supervisor.tend()
    assert child.exit_codes == [3] and child.restart_at is not None
    assert clock.now <= child.restart_at <= clock.now + RESTART_BASE_SECONDS
    first = child.process
    clock.now = child.restart_at
    supervisor.tend()
    assert child.restarts == 1 and child.process is not first and child.restart_at is None
    exited(child)


def test_the_wait_grows_while_the_child_keeps_failing_and_starts_over_after_a_good_run():
    clock = Clock()
    child = failing_child()
    supervisor = Supervisor([child], clock)
    supervisor.start_all()
    for expected_failures in (1, 2, 3):
        exited(child)
        supervisor.tend()
        assert child.failures_in_a_row == expected_failures
        assert child.restart_at - clock.now <= RESTART_BASE_SECONDS * 2 ** (expected_failures - 1)
        clock.now = child.restart_at
        supervisor.tend()
    clock.now += STABLE_SECONDS + 1
    exited(child)
    supervisor.tend()
    assert child.failures_in_a_row == 1
    clock.now = child.restart_at
    supervisor.tend()
    exited(child)


@given(attempt=st.integers(min_value=-5, max_value=10_000), base=st.floats(0.001, 10), cap=st.floats(0.001, 600))
def test_backoff_stays_within_its_ceiling(attempt, base, cap):
    wait = backoff_seconds(attempt, base, cap)
    assert 0 <= wait <= cap
    if attempt <= 30:
        assert wait <= base * 2 ** (max(attempt, 1) - 1)


def test_the_restart_cap_bounds_a_crash_loop():
    assert all(backoff_seconds(n, RESTART_BASE_SECONDS, RESTART_CAP_SECONDS) <= RESTART_CAP_SECONDS
               for n in range(1, 200))
