"""What the built-in derived attributes read (server.domain.personas.derived) and where they are kept:
rows of customer_attribute_values under the built-in names, the same rows and columns that compiled
expressions and the in-memory evaluator read. Set-based: a few statements for a chunk of customers,
whatever its size."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping
from decimal import Decimal

from sqlalchemy import and_, delete, func, select

from server.domain.goals.funding import SALARY_CATEGORIES
from server.domain.ingest.model import Container
from server.domain.personas.derived import (
    DERIVED_NAMES,
    DerivedInputs,
    SalaryCredit,
    balance_window,
    birth_date_of,
    salary_window,
)
from server.domain.personas.model import canonical
from server.domain.segments.attributes import BUILT_IN_ATTRIBUTES, AttributeValue
from server.store.driver import rowcount
from server.store.models import AccountRow, CustomerRow, DailyBalanceRow, TransactionRow
from server.store.personas_models import CustomerAttributeValueRow, DerivedRefreshDayRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.personas import VALUE_COLUMN

_DEFINITIONS = {d.name: d for d in BUILT_IN_ATTRIBUTES if d.name in DERIVED_NAMES}
_VALUE_COLUMNS = ("bool_value", "int_value", "decimal_value", "text_value", "date_value")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


class DerivedAttributesRepository(TenantRepository):
    async def customer_ids_after(self, after: str | None, limit: int) -> list[str]:
        """The tenant's customer ids after `after`, in id order: the chunks of a refresh of all."""
        query = select(CustomerRow.customer_id).where(CustomerRow.tenant_id == self.tenant_id)
        if after is not None:
            query = query.where(CustomerRow.customer_id > after)
        return list(await self.session.scalars(query.order_by(CustomerRow.customer_id).limit(limit)))

    async def claim_refresh_day(self, day: dt.date) -> bool:
        """Records `day` as the tenant's last requested refresh day, when it is later than the one
        recorded (or none is): True when this call moved it, so concurrent or repeated runs of the
        hourly cron request each day once."""
        stmt = self.upsert(DerivedRefreshDayRow).values(tenant_id=self.tenant_id, last_requested=day)
        stmt = stmt.on_conflict_do_update(
            index_elements=[DerivedRefreshDayRow.tenant_id],
            set_={"last_requested": stmt.excluded.last_requested},
            where=DerivedRefreshDayRow.last_requested < stmt.excluded.last_requested)
        return bool(rowcount(await self.session.execute(stmt)))

    async def owners_of(self, account_ids: Collection[str]) -> set[str]:
        if not account_ids:
            return set()
        return set(await self.session.scalars(select(AccountRow.customer_id).distinct().where(
            AccountRow.tenant_id == self.tenant_id, self.one_of(AccountRow.account_id, sorted(account_ids)))))

    async def inputs_of(self, customer_ids: Collection[str], as_of: dt.date, *, balances: bool = True
                        ) -> dict[str, DerivedInputs]:
        """customer id -> what their derived attributes read as of `as_of`, for the customers that exist;
        four statements: customers, their accounts, salary credits, end-of-day balances (balances=False:
        not read, the inputs have none)."""
        ids = sorted(set(customer_ids))
        if not ids:
            return {}
        birth_dates: dict[str, dt.date | None] = {
            customer_id: birth_date_of(attributes or {})
            for customer_id, attributes in await self.session.execute(select(
                CustomerRow.customer_id, CustomerRow.attributes).where(
                CustomerRow.tenant_id == self.tenant_id, self.one_of(CustomerRow.customer_id, ids)))}
        openings: dict[str, list[dt.date | None]] = defaultdict(list)
        owner_of_deposit: dict[str, str] = {}
        for account_id, customer_id, container, open_date in await self.session.execute(select(
                AccountRow.account_id, AccountRow.customer_id, AccountRow.container, AccountRow.open_date).where(
                AccountRow.tenant_id == self.tenant_id, self.one_of(AccountRow.customer_id, ids))):
            openings[customer_id].append(open_date)
            if container == Container.BANK.value:
                owner_of_deposit[account_id] = customer_id
        credits = await self._salary_credits(owner_of_deposit, as_of)
        found_balances = await self._balances(owner_of_deposit, as_of) if balances else {}
        deposit_owners = set(owner_of_deposit.values())
        return {customer_id: DerivedInputs(
            birth_date=birth_date, opening_dates=tuple(openings.get(customer_id, ())),
            has_deposit_account=customer_id in deposit_owners,
            salary_credits=tuple(credits.get(customer_id, ())), balances=found_balances.get(customer_id, {}))
            for customer_id, birth_date in birth_dates.items()}

    async def _salary_credits(self, owner_of: Mapping[str, str], as_of: dt.date) -> dict[str, list[SalaryCredit]]:
        """The deposit accounts' credits categorised as salary within the salary window, by owner."""
        if not owner_of:
            return {}
        first, last = salary_window(as_of)
        found: dict[str, list[SalaryCredit]] = defaultdict(list)
        for account_id, posted_at, amount, category in await self.session.execute(select(
                TransactionRow.account_id, TransactionRow.posted_at, TransactionRow.signed_amount,
                TransactionRow.category).where(
                TransactionRow.tenant_id == self.tenant_id, self.one_of(TransactionRow.account_id, sorted(owner_of)),
                TransactionRow.posted_at >= _midnight(first), TransactionRow.posted_at < _midnight(last) + dt.timedelta(
                    days=1),
                TransactionRow.signed_amount > Decimal(0),
                func.upper(func.trim(TransactionRow.category)).in_(sorted(SALARY_CATEGORIES)))):
            found[owner_of[account_id]].append(SalaryCredit(posted_at.astimezone(dt.UTC).date(), amount, category))
        return found

    async def _balances(self, owner_of: Mapping[str, str], as_of: dt.date
                        ) -> dict[str, dict[str, list[tuple[dt.date, Decimal]]]]:
        """owner -> deposit account -> its end-of-day balances in the balance window and the last one
        before it (one statement: the window's rows and, joined on its date, each account's last earlier row)."""
        if not owner_of:
            return {}
        first, last = balance_window(as_of)
        accounts = sorted(owner_of)
        mine = and_(DailyBalanceRow.tenant_id == self.tenant_id, self.one_of(DailyBalanceRow.account_id, accounts))
        in_window = select(DailyBalanceRow.account_id, DailyBalanceRow.balance_date, DailyBalanceRow.balance).where(
            mine, DailyBalanceRow.balance_date >= first, DailyBalanceRow.balance_date <= last)
        last_before = select(DailyBalanceRow.account_id, func.max(DailyBalanceRow.balance_date).label("day")).where(
            mine, DailyBalanceRow.balance_date < first).group_by(DailyBalanceRow.account_id).subquery()
        carried = select(DailyBalanceRow.account_id, DailyBalanceRow.balance_date, DailyBalanceRow.balance).join(
            last_before, and_(DailyBalanceRow.account_id == last_before.c.account_id,
                              DailyBalanceRow.balance_date == last_before.c.day)).where(
            DailyBalanceRow.tenant_id == self.tenant_id)
        found: dict[str, dict[str, list[tuple[dt.date, Decimal]]]] = defaultdict(lambda: defaultdict(list))
        for query in (in_window, carried):
            for account_id, day, balance in await self.session.execute(query):
                found[owner_of[account_id]][account_id].append((day, balance))
        return found

    async def stored(self, customer_ids: Collection[str], names: Collection[str] = DERIVED_NAMES
                     ) -> dict[str, dict[str, AttributeValue]]:
        """customer id -> its stored derived values (every asked customer present), of the attributes
        named (all the derived ones by default), one statement."""
        found: dict[str, dict[str, AttributeValue]] = {customer_id: {} for customer_id in customer_ids}
        if not found:
            return found
        rows = await self.session.scalars(select(CustomerAttributeValueRow).where(
            CustomerAttributeValueRow.tenant_id == self.tenant_id,
            self.one_of(CustomerAttributeValueRow.customer_id, sorted(found)),
            CustomerAttributeValueRow.name.in_(sorted(names))))
        for row in rows:
            value = getattr(row, VALUE_COLUMN[_DEFINITIONS[row.name].type])
            if value is not None:
                found[row.customer_id][row.name] = canonical(value)
        return found

    async def write(self, values: Mapping[str, Mapping[str, AttributeValue]], cleared: Mapping[str, Collection[str]],
                    now: dt.datetime) -> None:
        """Sets `values` (customer id -> name -> value) in one statement and deletes `cleared`
        (customer id -> names) in one statement per name. Rows in key order: two refreshes of the same
        customers at once lock them in the same order, and so never deadlock."""
        rows = [{"tenant_id": self.tenant_id, "customer_id": customer_id, "name": name, "updated_at": now,
                 **{c: None for c in _VALUE_COLUMNS}, VALUE_COLUMN[_DEFINITIONS[name].type]: value}
                for customer_id, named in sorted(values.items()) for name, value in sorted(named.items())]
        if rows:
            # The Core table, not the ORM entity: an ORM bulk insert splits the rows by which columns are NULL.
            stmt = self.upsert(CustomerAttributeValueRow.__table__)
            stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "customer_id", "name"],
                                              set_={c: stmt.excluded[c] for c in (*_VALUE_COLUMNS, "updated_at")})
            await self.session.execute(stmt, rows)
        by_name: dict[str, list[str]] = defaultdict(list)
        for customer_id, names in cleared.items():
            for name in names:
                by_name[name].append(customer_id)
        for name, customers in sorted(by_name.items()):
            await self.session.execute(delete(CustomerAttributeValueRow).where(
                CustomerAttributeValueRow.tenant_id == self.tenant_id, CustomerAttributeValueRow.name == name,
                self.one_of(CustomerAttributeValueRow.customer_id, sorted(customers))))
