"""The operator's status: readiness, the queue as Redis holds it, and what failed lately in the
caller's tenant. Read-only; answers while Redis is down (the queue part says so)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from server.domain.auth import Caller, Role
from server.domain.operations import FailedDeliveryCount, OperationsStatus, QueueSnapshot
from server.services.bus import MessageBus
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork

# How far back "failed lately" looks.
FAILED_WINDOW = dt.timedelta(hours=1)

ReadQueue = Callable[[dt.datetime], Awaitable[QueueSnapshot]]
Readiness = Callable[[], Awaitable[tuple[bool, str]]]


class OperationsService:
    def __init__(self, database: Database, bus: MessageBus, read_queue: ReadQueue, readiness: Readiness,
                 clock: Clock = utc_now) -> None:
        self._database = database
        self._bus = bus
        self._read_queue = read_queue
        self._readiness = readiness
        self._clock = clock

    async def status(self, caller: Caller) -> OperationsStatus:
        """Bank admins only. The queue's figures are the deployment's (no tenant's data in them); the
        database's are the caller's tenant's. While the database is not ready its figures are left out
        (the readiness detail says why) rather than failing the whole status."""
        caller.require_role(Role.BANK_ADMIN)
        now = self._clock()
        serving, detail = await self._readiness()
        queue = await self._read_queue(now)
        abandoned, failures = 0, []
        if serving:
            abandoned = await self._bus.abandoned_count(caller.tenant_id)
            async with UnitOfWork(self._database, caller.tenant_id) as uow:
                failures = [FailedDeliveryCount(state, code, count)
                            for state, code, count in await uow.deliveries.failures_since(now - FAILED_WINDOW)]
        return OperationsStatus(now, serving, detail, queue, abandoned, failures, FAILED_WINDOW)
