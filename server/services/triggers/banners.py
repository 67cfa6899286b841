"""The banners trigger rules made for customers (docs/triggers.md#banners): listed for the bank's app
while unexpired, newest first, and counted when shown and tapped. The runtime adds them
(BannersRepository.add_banners) in the transaction that records the firing."""

from __future__ import annotations

from server.domain.auth import Caller, Role
from server.domain.errors import not_found
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.triggers.records import Banner
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork

READERS = (Role.SERVICE, Role.BANK_ADMIN, Role.USER)
COUNTERS = (Role.SERVICE, Role.USER)
BANNERS_LIST = "banners"


class BannersService:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock

    async def list_banners(self, caller: Caller, customer_id: str, page: PageRequest) -> Page[Banner]:
        caller.require_role(*READERS)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.banners.list_active(customer_id, self._clock(), page.after, page.size + 1)
        return paginate(found, page, BANNERS_LIST, lambda b: b.banner_id)

    async def record_impression(self, caller: Caller, customer_id: str, banner_id: str) -> Banner:
        return await self._count(caller, customer_id, banner_id, click=False)

    async def record_click(self, caller: Caller, customer_id: str, banner_id: str) -> Banner:
        return await self._count(caller, customer_id, banner_id, click=True)

    async def _count(self, caller: Caller, customer_id: str, banner_id: str, *, click: bool) -> Banner:
        caller.require_role(*COUNTERS)
        caller.require_customer_access(customer_id)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            banners = uow.banners
            counted = await (banners.record_click if click else banners.record_impression)(
                customer_id, banner_id, self._clock())
            banner = await banners.get(customer_id, banner_id) if counted else None
            if banner is None:
                raise not_found("banner", banner_id)
            await uow.commit()
        return banner
