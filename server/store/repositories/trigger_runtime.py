"""What the live trigger evaluation reads and writes per batch (server.services.triggers.evaluation): the
accounts' day series, the "true since" states of state conditions, the customers' last firings of each
rule (cool-down), and who of a batch's customers an audience takes. A few statements per batch, each
over all of the batch's accounts or customers, never one per posting."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text, tuple_, union_all

from server.domain.personas.audiences import Selection
from server.domain.triggers.series import AccountDay
from server.store.audience_sql import selection_condition
from server.store.driver import dialect_of
from server.store.models import AccountRow, CustomerRow
from server.store.personas_models import PersonaMemberRow
from server.store.repositories.base import TenantRepository
from server.store.triggers_models import TriggerAccountDayRow, TriggerFiringRow, TriggerRuleStateRow

StateKey = tuple[str, int, str]  # rule id, version, account id


@dataclass(frozen=True)
class StoredAccount:
    account_id: str
    customer_id: str
    container: str
    currency: str
    balance: Decimal
    available_balance: Decimal


_ACCOUNT_COLUMNS = (AccountRow.account_id, AccountRow.customer_id, AccountRow.container, AccountRow.currency,
                    AccountRow.current_balance, AccountRow.available_balance)  # StoredAccount's fields
_DAY_COLUMNS = (TriggerAccountDayRow.account_id, TriggerAccountDayRow.day, TriggerAccountDayRow.closing_balance,
                TriggerAccountDayRow.fed_balance, TriggerAccountDayRow.min_balance, TriggerAccountDayRow.postings,
                TriggerAccountDayRow.posting_total, TriggerAccountDayRow.overdraft_began)


def _day(row: Any) -> AccountDay:
    """From a row of _DAY_COLUMNS: plain columns, not ORM objects (a batch reads tens of thousands)."""
    return AccountDay(row[1], row[2], row[3], row[4], row[5], row[6], row[7])


class TriggerRuntimeRepository(TenantRepository):
    async def accounts(self, account_ids: Collection[str]) -> dict[str, StoredAccount]:
        if not account_ids:
            return {}
        rows = await self.session.execute(select(*_ACCOUNT_COLUMNS).where(
            AccountRow.tenant_id == self.tenant_id, self.one_of(AccountRow.account_id, account_ids)))
        return {r[0]: StoredAccount(*r) for r in rows}

    async def deposit_accounts_after(self, after: str | None, limit: int) -> list[StoredAccount]:
        """The tenant's BANK-container accounts by id, a page at a time (the daily re-check)."""
        query = select(*_ACCOUNT_COLUMNS).where(AccountRow.tenant_id == self.tenant_id, AccountRow.container == "BANK")
        if after is not None:
            query = query.where(AccountRow.account_id > after)
        rows = await self.session.execute(query.order_by(AccountRow.account_id).limit(limit))
        return [StoredAccount(*r) for r in rows]

    async def lock_accounts(self, account_ids: Collection[str]) -> None:
        """Takes a lock per account, held until the transaction ends (PostgreSQL advisory locks, in one
        order, so that two batches never deadlock): batches that move one account's day series are
        evaluated one after the other, the later reading what the earlier wrote. Taken before the reads.
        SQLite has one writer at a time: nothing to take."""
        if not account_ids or dialect_of(self.session).name != "postgresql":
            return
        await self.session.execute(text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(:tenant || '/' || a, 20) AS k "
            "FROM unnest(CAST(:ids AS text[])) AS a ORDER BY k) AS keys"),
            {"tenant": self.tenant_id, "ids": sorted(account_ids)})

    async def days(self, account_ids: Collection[str], since: dt.date) -> dict[str, list[AccountDay]]:
        """Each account's day rows from `since` on, ascending, preceded by its latest row before `since`
        (whose collected balance carries into the window)."""
        found: dict[str, list[AccountDay]] = defaultdict(list)
        if not account_ids:
            return found
        earlier = (select(TriggerAccountDayRow.account_id, func.max(TriggerAccountDayRow.day).label("day"))
                   .where(TriggerAccountDayRow.tenant_id == self.tenant_id,
                          self.one_of(TriggerAccountDayRow.account_id, account_ids),
                          TriggerAccountDayRow.day < since)
                   .group_by(TriggerAccountDayRow.account_id).subquery())
        before = select(*_DAY_COLUMNS).join(
            earlier, (TriggerAccountDayRow.account_id == earlier.c.account_id)
            & (TriggerAccountDayRow.day == earlier.c.day)).where(TriggerAccountDayRow.tenant_id == self.tenant_id)
        within = select(*_DAY_COLUMNS).where(
            TriggerAccountDayRow.tenant_id == self.tenant_id,
            self.one_of(TriggerAccountDayRow.account_id, account_ids),
            TriggerAccountDayRow.day >= since)
        # One statement (a round trip fewer on the banner's path); the row before `since` sorts first.
        both = union_all(before, within).subquery()
        for row in await self.session.execute(select(*both.c).order_by(both.c.account_id, both.c.day)):
            found[row[0]].append(_day(row))
        return found

    async def save_days(self, rows: Iterable[tuple[str, AccountDay]]) -> None:
        values = [{"tenant_id": self.tenant_id, "account_id": account_id, "day": d.day,
                   "closing_balance": d.closing_balance, "fed_balance": d.fed_balance, "min_balance": d.min_balance,
                   "postings": d.postings, "posting_total": d.posting_total, "overdraft_began": d.overdraft_began}
                  for account_id, d in sorted(rows, key=lambda row: (row[0], row[1].day))]
        if not values:
            return
        stmt = self.upsert(TriggerAccountDayRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "account_id", "day"],
            set_={name: getattr(stmt.excluded, name) for name in (
                "closing_balance", "fed_balance", "min_balance", "postings", "posting_total", "overdraft_began")})
        await self.session.execute(stmt, values)

    async def states(self, versions: Collection[tuple[str, int]], account_ids: Collection[str]) -> set[StateKey]:
        """Which (rule, version, account) hold now, of these rule versions and accounts."""
        if not versions or not account_ids:
            return set()
        rows = await self.session.execute(select(
            TriggerRuleStateRow.rule_id, TriggerRuleStateRow.version, TriggerRuleStateRow.account_id).where(
            TriggerRuleStateRow.tenant_id == self.tenant_id,
            self.one_of(TriggerRuleStateRow.rule_id, sorted({rule for rule, _ in versions})),
            self.one_of(TriggerRuleStateRow.account_id, account_ids)))
        wanted = set(versions)
        return {(rule, version, account) for rule, version, account in rows if (rule, version) in wanted}

    async def change_states(self, now_true: Sequence[StateKey], now_false: Sequence[StateKey], at: dt.datetime
                            ) -> None:
        if now_false:
            await self.session.execute(delete(TriggerRuleStateRow).where(
                TriggerRuleStateRow.tenant_id == self.tenant_id,
                tuple_(TriggerRuleStateRow.rule_id, TriggerRuleStateRow.version,
                       TriggerRuleStateRow.account_id).in_(list(now_false))))
        if now_true:
            stmt = self.upsert(TriggerRuleStateRow).on_conflict_do_nothing()
            await self.session.execute(stmt, [
                {"tenant_id": self.tenant_id, "rule_id": rule, "version": version, "account_id": account,
                 "true_since": at} for rule, version, account in now_true])

    async def last_fired(self, rule_ids: Collection[str], customer_ids: Collection[str]
                         ) -> dict[tuple[str, str], dt.datetime]:
        """(rule, customer) -> the customer's last firing of the rule, any version: the cool-down's start."""
        if not rule_ids or not customer_ids:
            return {}
        rows = await self.session.execute(
            select(TriggerFiringRow.rule_id, TriggerFiringRow.customer_id, func.max(TriggerFiringRow.fired_at)).where(
                TriggerFiringRow.tenant_id == self.tenant_id, self.one_of(TriggerFiringRow.rule_id, rule_ids),
                self.one_of(TriggerFiringRow.customer_id, customer_ids)
            ).group_by(TriggerFiringRow.rule_id, TriggerFiringRow.customer_id))
        return {(rule, customer): at for rule, customer, at in rows}

    async def selected(self, selection: Selection | str, customer_ids: Collection[str]) -> set[str]:
        """Which of these customers the selection (a persona id, or an audience's) takes now."""
        if not customer_ids:
            return set()
        if isinstance(selection, str):
            # A persona: its kept rows by their key. (The general EXISTS below got a scan of the members
            # from the planner, 70 ms with 100,000 customers, before the tables had statistics.)
            return set(await self.session.scalars(select(PersonaMemberRow.customer_id).where(
                PersonaMemberRow.tenant_id == self.tenant_id, PersonaMemberRow.persona_id == selection,
                self.one_of(PersonaMemberRow.customer_id, customer_ids))))
        rows = await self.session.scalars(select(CustomerRow.customer_id).where(
            CustomerRow.tenant_id == self.tenant_id, self.one_of(CustomerRow.customer_id, customer_ids),
            selection_condition(self.tenant_id, selection, CustomerRow.customer_id)))
        return set(rows)
