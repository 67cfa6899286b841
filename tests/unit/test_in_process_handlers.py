"""When the server runs a handler itself after an ingest commit, and when it tells ingestion that the
events' jobs should start at once (its runs all under way, so a banner waits for the job)."""

import asyncio
from typing import cast

from server.domain.events import TransactionsPosted
from server.services.bus import MessageBus, TogetherFunction
from server.services.in_process import InProcessHandlers
from server.store.event_payloads import encode

NO_BUS = cast(MessageBus, None)  # no run gets as far as a handler: Gate.wants says no
NO_HANDLE = cast(TogetherFunction, None)


class Gate:
    def __init__(self, declines: bool) -> None:
        self._declines = declines

    def declines(self, tenant_id, written) -> bool:
        return self._declines

    async def wants(self, tenant_id) -> bool:
        return False  # nothing runs: the tests look at what committed() decides


WRITTEN = {7: ("TransactionsPosted", {"rows": [{}] * 50})}  # only its postings' count is read
SMALL = {8: ("TransactionsPosted", {"rows": [{}]})}


async def test_a_declined_batch_is_the_workers_and_not_urgent():
    handlers = InProcessHandlers(NO_BUS, ["trigger_rules"], NO_HANDLE, gate=Gate(declines=True))
    assert handlers.committed("bank-1", WRITTEN) is False
    assert not handlers._running


async def test_a_wanted_batch_runs_here_and_is_not_urgent():
    handlers = InProcessHandlers(NO_BUS, ["trigger_rules"], NO_HANDLE, gate=Gate(declines=False))
    assert handlers.committed("bank-1", WRITTEN) is False
    assert len(handlers._running) == 1
    await handlers.close()


async def test_a_wanted_batch_while_every_run_is_under_way_is_urgent():
    handlers = InProcessHandlers(NO_BUS, ["trigger_rules"], NO_HANDLE, max_running=1, gate=Gate(declines=False))
    assert handlers.committed("bank-1", WRITTEN) is False
    assert handlers.committed("bank-1", WRITTEN) is True
    await handlers.close()
    await asyncio.sleep(0)
    assert handlers.committed("bank-1", {}) is False


async def test_a_small_batch_has_a_run_more_than_the_others():
    handlers = InProcessHandlers(NO_BUS, ["trigger_rules"], NO_HANDLE, max_running=1, gate=Gate(declines=False),
                                 small_postings=10, small_running=1)
    assert handlers.committed("bank-1", WRITTEN) is False
    assert handlers.committed("bank-1", WRITTEN) is True  # the big batch is the workers'
    assert handlers.committed("bank-1", SMALL) is False  # the small one still runs here
    assert len(handlers._running) == 2
    assert handlers.committed("bank-1", SMALL) is True  # beyond its extra run: the workers'
    await handlers.close()


class Always(Gate):
    async def wants(self, tenant_id) -> bool:
        return True


class RecordingBus:
    def __init__(self, fails: bool) -> None:
        self.calls: list[tuple[int, str, tuple[str, ...]]] = []
        self._fails = fails

    async def run_together(self, event_id, tenant_id, event, names, handle, known=None) -> None:
        self.calls.append((event_id, tenant_id, tuple(names)))
        if self._fails:
            raise RuntimeError("down")


async def test_each_event_runs_its_handlers_together_and_one_failing_stops_no_other_event():
    names = ["trigger_rules_1_of_4", "trigger_rules_2_of_4"]
    bus = RecordingBus(fails=True)
    handlers = InProcessHandlers(cast(MessageBus, bus), names, NO_HANDLE, gate=Always(declines=False))
    written = {7: encode(TransactionsPosted((), live=True)), 8: encode(TransactionsPosted((), live=True))}
    assert handlers.committed("bank-1", written) is False
    await handlers.close()
    assert bus.calls == [(7, "bank-1", tuple(names)), (8, "bank-1", tuple(names))]
