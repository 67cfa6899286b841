"""Bank defaults and user overrides per insight: reads, validated partial updates, change history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.auth import Caller, Role
from server.domain.errors import not_found
from server.domain.insights.catalogue import Catalogue
from server.domain.insights.definition import (
    EffectiveSubscription,
    InsightDefinition,
    SubscriptionSettings,
    effective_subscription,
)
from server.domain.insights.settings_json import merge_settings
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.subscriptions.levels import BANK_LEVEL
from server.domain.subscriptions.validation import validate_bank_update, validate_user_update
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork


@dataclass(frozen=True)
class InsightSubscriptionView:
    definition: InsightDefinition
    bank: EffectiveSubscription  # the bank's defaults as every user without overrides gets them
    user: EffectiveSubscription | None = None  # what this user gets (user-level reads)


class SubscriptionsService:
    def __init__(self, database: Database, catalogue: Catalogue, clock: Clock = utc_now) -> None:
        self._database = database
        self._catalogue = catalogue
        self._clock = clock

    def _definitions(self, names: list[str]) -> list[InsightDefinition]:
        if not names:
            return list(self._catalogue)
        found = [self._catalogue.get(n) for n in names]
        missing = [n for n, d in zip(names, found, strict=True) if d is None]
        if missing:
            raise not_found("insight", missing[0])
        return [d for d in found if d is not None]

    async def get_bank(self, caller: Caller, names: list[str]) -> list[InsightSubscriptionView]:
        caller.require_role(Role.BANK_ADMIN)
        definitions = self._definitions(names)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            stored = await uow.subscriptions.settings_of([BANK_LEVEL], [d.name for d in definitions])
        return [InsightSubscriptionView(d, effective_subscription(d, stored.get((BANK_LEVEL, d.name)), None))
                for d in definitions]

    async def update_bank(self, caller: Caller, body: Any) -> list[InsightSubscriptionView]:
        caller.require_role(Role.BANK_ADMIN)
        patches = validate_bank_update(body, self._catalogue)  # raises before anything is written
        await self._apply(caller, BANK_LEVEL, [(p.insight_name, p.settings) for p in patches])
        return await self.get_bank(caller, [p.insight_name for p in patches])

    async def get_user(self, caller: Caller, customer_id: str, names: list[str]) -> list[InsightSubscriptionView]:
        caller.require_role(Role.USER, Role.SERVICE)
        customer_id = self._user_of(caller, customer_id)
        definitions = self._definitions(names)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
            stored = await uow.subscriptions.settings_of([BANK_LEVEL, customer_id], [d.name for d in definitions])
        return [InsightSubscriptionView(
            d, effective_subscription(d, stored.get((BANK_LEVEL, d.name)), None),
            effective_subscription(d, stored.get((BANK_LEVEL, d.name)), stored.get((customer_id, d.name))))
            for d in definitions]

    async def update_user(self, caller: Caller, customer_id: str, body: Any) -> list[InsightSubscriptionView]:
        caller.require_role(Role.USER, Role.SERVICE)
        customer_id = self._user_of(caller, customer_id)
        patches = validate_user_update(body, self._catalogue)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.customers.get(customer_id) is None:
                raise not_found("customer", customer_id)
        await self._apply(caller, customer_id, [(p.insight_name, p.settings) for p in patches])
        return await self.get_user(caller, customer_id, [p.insight_name for p in patches])

    async def changes(self, caller: Caller, customer_id: str | None, page: PageRequest) -> Page[dict[str, Any]]:
        caller.require_role(Role.BANK_ADMIN, Role.USER, Role.SERVICE)
        if caller.role is not Role.BANK_ADMIN:
            customer_id = self._user_of(caller, customer_id or "")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.subscriptions.changes(customer_id, int(page.after) if page.after else None,
                                                    page.size + 1)
        return paginate(found, page, "subscription-changes", lambda c: c["change_id"])

    @staticmethod
    def _user_of(caller: Caller, customer_id: str) -> str:
        if caller.is_user:
            customer_id = customer_id or caller.subject
        caller.require_customer_access(customer_id)
        return customer_id

    async def _apply(self, caller: Caller, level: str, patches: list[tuple[str, SubscriptionSettings]]) -> None:
        """Every patch of a request in one transaction, each with its history row."""
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            current = await uow.subscriptions.settings_of([level], [name for name, _ in patches])
            for name, patch in patches:
                before = current.get((level, name), SubscriptionSettings())
                after = merge_settings(before, patch)
                await uow.subscriptions.save(level, name, after, now)
                await uow.subscriptions.record_change(level, name, caller.subject, caller.role.value, before, after,
                                                      now)
            await uow.commit()
