"""The built-in derived attributes kept fresh (docs/personas.md#built-in-attributes): computed from the
ingested data (server.domain.personas.derived), stored as customer attribute values under the built-in
names, and every change announced in a CustomerAttributesChanged, so persona membership follows.

Two ways they move: the bus handlers recompute the customers an ingestion event touches (a salary
credit, an end-of-day balance, an account, a birth date), live and backfill alike; and time alone
(age, months as customer, the 6-month and 90-day windows) is caught by a daily refresh of every
customer. Both compute as of today in the tenant's time zone, from what is committed when they run,
so a late or repeated run does no harm."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Iterable

import structlog

from server.domain.events import (
    AccountsChanged,
    AttributeChange,
    BalancesRecorded,
    CustomerAttributesChanged,
    DerivedAttributesRefreshRequested,
    Posting,
    TransactionsPosted,
)
from server.domain.goals.funding import is_salary_credit
from server.domain.ingest.model import Container
from server.domain.personas.derived import (
    AVG_COLLECTED_BALANCE,
    AVG_MONTHLY_SALARY,
    BIRTH_DATE_ATTRIBUTE,
    DERIVED_NAMES,
    OVERDRAFTS_90D,
    derive,
    salary_window,
)
from server.domain.segments.attributes import AttributeValue, value_to_text
from server.domain.tenants import Tenant
from server.services.clock import Clock, utc_now
from server.services.events import AfterCommit, EventPublisher, announce_committed
from server.store.db import Database
from server.store.repositories.derived_attributes import DerivedAttributesRepository
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Customers read and written together: a handful of statements per chunk.
CHUNK = 500
# The account fields whose change moves an owner's derived attributes.
_ACCOUNT_FIELDS = frozenset({"customer_id", "open_date", "container"})
# What a salary credit moves; the attributes read from end-of-day balances.
SALARY_NAMES = frozenset({AVG_MONTHLY_SALARY})
BALANCE_NAMES = frozenset({AVG_COLLECTED_BALANCE, OVERDRAFTS_90D})


def _text(values: dict[str, AttributeValue]) -> dict[str, str]:
    return {name: value_to_text(value) for name, value in values.items()}


def _salary_credits(postings: Iterable[Posting]) -> list[Posting]:
    """The salary credits on deposit (BANK) accounts: the postings that may move an average salary."""
    return [p for p in postings
            if p.account_container == Container.BANK and is_salary_credit(p.category, p.amount.amount)]


def local_days(tenants: Iterable[Tenant], now: dt.datetime) -> dict[str, dt.date]:
    """The enabled tenants' days at `now`, each in its own time zone."""
    return {t.tenant_id: now.astimezone(zoneinfo.ZoneInfo(t.time_zone)).date() for t in tenants if not t.disabled}


class DerivedAttributesService:
    def __init__(self, database: Database, publisher: EventPublisher, clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._clock = clock

    async def _today(self, uow: UnitOfWork, tenant_id: str) -> dt.date:
        return self._clock().astimezone(await uow.tenants.zone(tenant_id)).date()

    async def refresh(self, uow: UnitOfWork, customer_ids: Collection[str], as_of: dt.date,
                      names: Collection[str] = DERIVED_NAMES) -> int:
        """Recomputes these customers' derived attributes in `uow` (the caller commits), writes those
        that changed and announces them in one CustomerAttributesChanged. Returns how many customers changed.
        `names`: only these attributes (the others are neither read nor compared nor written)."""
        reads = DerivedAttributesRepository(uow.session, uow.tenant_id)
        ids = sorted(set(customer_ids))
        changes: list[AttributeChange] = []
        now = self._clock()
        wanted = frozenset(names)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            inputs = await reads.inputs_of(chunk, as_of, balances=not wanted.isdisjoint(BALANCE_NAMES))
            stored = await reads.stored(inputs, wanted)
            values: dict[str, dict[str, AttributeValue]] = {}
            cleared: dict[str, list[str]] = {}
            for customer_id, customer_inputs in sorted(inputs.items()):
                before = stored[customer_id]
                after = {name: value for name, value in derive(customer_inputs, as_of).items() if name in wanted}
                changed = {name: value for name, value in after.items() if before.get(name) != value}
                gone = sorted(before.keys() - after.keys())
                if changed or gone:
                    values[customer_id], cleared[customer_id] = changed, gone
                    names = sorted({*changed, *gone})
                    old, new = _text(before), _text(after)
                    changes.append(AttributeChange(customer_id, {n: old.get(n, "") for n in names},
                                                   {n: new.get(n, "") for n in names}))
            await reads.write(values, cleared, now)
        if changes:
            await uow.domain_events.add(uow.tenant_id, CustomerAttributesChanged(tuple(changes)), now)
        return len(changes)

    # -- bus handlers: the customers an ingestion event touches -----------------------------------

    async def _refresh_today(self, uow: UnitOfWork, tenant_id: str, customer_ids: Collection[str]) -> None:
        if customer_ids:
            await self.refresh(uow, customer_ids, await self._today(uow, tenant_id))

    def wants_transactions_posted(self, event: TransactionsPosted) -> bool:
        """Whether the event has a salary credit on a deposit account booked in the salary window as of
        today in some time zone (the handler reads the tenant's, and keeps only those of its today)."""
        utc_today = self._clock().astimezone(dt.UTC).date()
        first = salary_window(utc_today - dt.timedelta(days=1))[0]
        last = utc_today + dt.timedelta(days=1)
        return any(first <= p.booking_date <= last for p in _salary_credits(event.postings))

    @staticmethod
    def wants_accounts_changed(event: AccountsChanged) -> bool:
        return any(a.created or _ACCOUNT_FIELDS & set(a.changed_fields) for a in event.accounts)

    @staticmethod
    def wants_customer_attributes_changed(event: CustomerAttributesChanged) -> bool:
        return any(BIRTH_DATE_ATTRIBUTE in c.new or BIRTH_DATE_ATTRIBUTE in c.old for c in event.changes)

    async def on_transactions_posted(self, uow: UnitOfWork, tenant_id: str, event: TransactionsPosted
                                     ) -> AfterCommit | None:
        """Bus handler (derived_attributes_salary): the owners of salary credits, live or backfill, their
        average monthly salary only: the one derived attribute a salary credit moves. Only credits that
        count for it: on a deposit (BANK) account, booked in the salary window as of today (an older one,
        or a later one, changes no average today; time moving the window is the daily refresh's)."""
        credits = _salary_credits(event.postings)
        if not credits:
            return None
        today = await self._today(uow, tenant_id)
        first, last = salary_window(today)
        owners = {p.customer_id for p in credits if first <= p.booking_date <= last}
        if owners:
            await self.refresh(uow, owners, today, SALARY_NAMES)
        return None

    async def on_balances_recorded(self, uow: UnitOfWork, tenant_id: str, event: BalancesRecorded
                                   ) -> AfterCommit | None:
        """Bus handler (derived_attributes_balances): the owners of the accounts."""
        reads = DerivedAttributesRepository(uow.session, tenant_id)
        await self._refresh_today(uow, tenant_id, await reads.owners_of({b.account_id for b in event.balances}))
        return None

    async def on_accounts_changed(self, uow: UnitOfWork, tenant_id: str, event: AccountsChanged
                                  ) -> AfterCommit | None:
        """Bus handler (derived_attributes_accounts): the owners of new accounts and of accounts whose
        owner, opening date or kind changed, and the former owners of accounts given to another."""
        owners = {a.customer_id for a in event.accounts if a.created or _ACCOUNT_FIELDS & set(a.changed_fields)}
        former = {a.former_customer_id for a in event.accounts if a.former_customer_id is not None}
        await self._refresh_today(uow, tenant_id, owners | former)
        return None

    async def on_customer_attributes_changed(self, uow: UnitOfWork, tenant_id: str, event: CustomerAttributesChanged
                                             ) -> AfterCommit | None:
        """Bus handler (derived_attributes_birth_date): customers whose birth_date attribute changed
        (this service's own events name only derived attributes, and so stop here)."""
        await self._refresh_today(uow, tenant_id, {c.customer_id for c in event.changes
                                                   if BIRTH_DATE_ATTRIBUTE in c.new or BIRTH_DATE_ATTRIBUTE in c.old})
        return None

    # -- the daily refresh: time moves the values ------------------------------------------------

    async def refresh_new_days(self) -> int:
        """The hourly cron: each tenant whose day (in its own time zone) has begun since its last requested
        refresh gets its refresh as of that day requested, once: in the hour the day begins, or on the
        first run after the workers missed that hour. Returns how many tenants."""
        async with UnitOfWork(self._database) as uow:
            days = local_days(await uow.tenants.list(), self._clock())
        requested = 0
        for tenant_id, day in days.items():
            requested += await self.request_refresh(tenant_id, day, once_a_day=True)
        return requested

    async def request_all(self, as_of: dt.date | None = None) -> int:
        """Every enabled tenant's refresh requested, as of today in the tenant's time zone (`as_of` instead
        when given). Returns how many tenants."""
        async with UnitOfWork(self._database) as uow:
            tenants = [t.tenant_id for t in await uow.tenants.list() if not t.disabled]
        for tenant_id in tenants:
            await self.request_refresh(tenant_id, as_of)
        return len(tenants)

    async def request_refresh(self, tenant_id: str, as_of: dt.date | None = None, *, once_a_day: bool = False
                              ) -> bool:
        """The tenant's whole refresh, as of `as_of` (None: today in its time zone), through the bus: a
        DerivedAttributesRefreshRequested per chunk of customers, each its own job, so a refresh of any
        size is bounded jobs, each retried alone, and the outbox keeps the place when a worker dies.
        `once_a_day`: only when that day is later than the tenant's last requested one (the hourly cron),
        recorded in the same transaction. Returns whether it was requested."""
        async with UnitOfWork(self._database, tenant_id) as uow:
            day = as_of or await self._today(uow, tenant_id)
            if once_a_day and not await DerivedAttributesRepository(uow.session, tenant_id).claim_refresh_day(day):
                return False
            await uow.domain_events.add(tenant_id, DerivedAttributesRefreshRequested(day), self._clock())
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return True

    async def on_refresh_requested(self, uow: UnitOfWork, tenant_id: str, event: DerivedAttributesRefreshRequested
                                   ) -> AfterCommit | None:
        """Bus handler (derived_attributes_refresh): the chunk of customers after `event.after`, and the
        request of the next chunk when this one was full, in the same transaction."""
        last = await self._refresh_chunk(uow, tenant_id, event.as_of, event.after)
        if last is not None:
            await uow.domain_events.add_for_queue(tenant_id, DerivedAttributesRefreshRequested(event.as_of, last),
                                                  self._clock())
        return None

    async def refresh_tenant(self, tenant_id: str, as_of: dt.date | None = None) -> None:
        """The tenant's whole refresh here and now, chunk by chunk, each its own transaction (for callers
        that need it done on return; the workers go through request_refresh)."""
        after: str | None = None
        while True:
            async with UnitOfWork(self._database, tenant_id) as uow:
                day = as_of or await self._today(uow, tenant_id)
                after = await self._refresh_chunk(uow, tenant_id, day, after)
                await uow.commit()
            await announce_committed(self._publisher, uow.domain_events.added)
            if after is None:
                return

    async def _refresh_chunk(self, uow: UnitOfWork, tenant_id: str, as_of: dt.date, after: str | None) -> str | None:
        """Refreshes the CHUNK customers after `after`; returns the last of them when more may follow."""
        ids = await DerivedAttributesRepository(uow.session, tenant_id).customer_ids_after(after, CHUNK)
        changed = await self.refresh(uow, ids, as_of) if ids else 0
        log.info("derived_attributes_refreshed", tenant=tenant_id, as_of=as_of.isoformat(), customers=len(ids),
                 changed=changed)
        return ids[-1] if len(ids) == CHUNK else None
