"""When the server runs a handler itself after an ingest commit, and when it tells ingestion that the
events' jobs should start at once (its runs all under way, so a banner waits for the job)."""

import asyncio
from typing import cast

from server.domain.events import TransactionsPosted
from server.services.bus import MessageBus
from server.services.in_process import InProcessHandlers
from server.store.event_payloads import encode

NO_BUS = cast(MessageBus, None)  # no run gets as far as a handler: Gate.wants says no


class Gate:
    def __init__(self, declines: bool) -> None:
        self._declines = declines

    def declines(self, tenant_id, written) -> bool:
        return self._declines

    async def wants(self, tenant_id) -> bool:
        return False  # nothing runs: the tests look at what committed() decides


WRITTEN = {7: ("TransactionsPosted", {})}


async def test_a_declined_batch_is_the_workers_and_not_urgent():
    handlers = InProcessHandlers(NO_BUS, names=["trigger_rules"], gate=Gate(declines=True))
    assert handlers.committed("bank-1", WRITTEN) is False
    assert not handlers._running


async def test_a_wanted_batch_runs_here_and_is_not_urgent():
    handlers = InProcessHandlers(NO_BUS, names=["trigger_rules"], gate=Gate(declines=False))
    assert handlers.committed("bank-1", WRITTEN) is False
    assert len(handlers._running) == 1
    await handlers.close()


async def test_a_wanted_batch_while_every_run_is_under_way_is_urgent():
    handlers = InProcessHandlers(NO_BUS, names=["trigger_rules"], max_running=1, gate=Gate(declines=False))
    assert handlers.committed("bank-1", WRITTEN) is False
    assert handlers.committed("bank-1", WRITTEN) is True
    await handlers.close()
    await asyncio.sleep(0)
    assert handlers.committed("bank-1", {}) is False


class Always(Gate):
    async def wants(self, tenant_id) -> bool:
        return True


class OverlapBus:
    """Records which handlers ran, and lets them finish only once all of them have started."""

    def __init__(self, names: list[str], failing: str) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self._all_started = asyncio.Event()
        self._names, self._failing = names, failing

    async def run_handler(self, event_id, tenant_id, event, name) -> None:
        self.started.append(name)
        if len(self.started) == len(self._names):
            self._all_started.set()
        await asyncio.wait_for(self._all_started.wait(), 5)
        if name == self._failing:
            raise RuntimeError("down")
        self.finished.append(name)


async def test_the_handlers_named_run_at_once_and_one_failing_stops_none_of_the_others():
    names = ["trigger_rules_1_of_4", "trigger_rules_2_of_4", "trigger_rules_3_of_4"]
    bus = OverlapBus(names, failing="trigger_rules_2_of_4")
    handlers = InProcessHandlers(cast(MessageBus, bus), names=names, gate=Always(declines=False))
    assert handlers.committed("bank-1", {7: encode(TransactionsPosted((), live=True))}) is False
    await handlers.close()
    assert sorted(bus.started) == names  # one after the other, the first would time out waiting for the rest
    assert sorted(bus.finished) == ["trigger_rules_1_of_4", "trigger_rules_3_of_4"]
