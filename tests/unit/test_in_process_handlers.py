"""When the server runs a handler itself after an ingest commit, and when it tells ingestion that the
events' jobs should start at once (its runs all under way, so a banner waits for the job)."""

import asyncio
from typing import cast

from server.services.bus import MessageBus
from server.services.in_process import InProcessHandlers

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
