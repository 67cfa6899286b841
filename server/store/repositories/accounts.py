from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import CursorResult, delete, or_, select

from server.domain.ingest.model import Account, AccountHolder, AccountType, Container
from server.store.array_literals import integer_array, text_array
from server.store.keyset import keyset_page
from server.store.models import AccountPartyRow, AccountRow
from server.store.repositories.base import TenantRepository
from server.store.types import sqlite_datetime_text

_DESCRIPTIVE_COLUMNS = ("customer_id", "authorized_customer_ids", "account_type", "container", "currency",
                        "provider_name", "account_name", "open_date", "attributes", "updated_at")


_LOCK_IN_ID_ORDER = ("SELECT account_id, current_balance, available_balance, customer_id, account_type, container "
                     "FROM accounts "
                     "WHERE tenant_id = $1 "
                     "AND account_id = ANY($2::text[]) ORDER BY account_id FOR NO KEY UPDATE")
_SQLITE_BALANCES = ("SELECT account_id, current_balance, available_balance, customer_id, account_type, container "
                    "FROM accounts "
                    "WHERE tenant_id = ? AND "
                    "account_id IN (SELECT value FROM json_each(?))")
_ADD_TO_BALANCES = """
UPDATE accounts AS a
SET current_balance = a.current_balance + d.delta, available_balance = a.available_balance + d.delta, updated_at = $2
FROM unnest($3::text::text[], $4::text::bigint[]) AS d(account_id, delta)
WHERE a.tenant_id = $1 AND a.account_id = d.account_id
"""
_SQLITE_ADD_TO_BALANCE = ("UPDATE accounts SET current_balance = current_balance + ?, available_balance = "
                          "available_balance + ?, updated_at = ? WHERE tenant_id = ? AND account_id = ?")


def _to_domain(row: AccountRow) -> Account:
    return Account(
        account_id=row.account_id, customer_id=row.customer_id, type=AccountType(row.account_type),
        container=Container(row.container), currency=row.currency, provider_name=row.provider_name,
        account_name=row.account_name, current_balance=row.current_balance,
        available_balance=row.available_balance, open_date=row.open_date,
        authorized_customer_ids=list(row.authorized_customer_ids or []), attributes=dict(row.attributes or {}),
        created_at=row.created_at, updated_at=row.updated_at)


class AccountsRepository(TenantRepository):
    async def upsert_many(self, accounts: list[Account], now: dt.datetime) -> None:
        with_balances = [a for a in accounts if a.current_balance is not None or a.available_balance is not None]
        without_balances = [a for a in accounts if a.current_balance is None and a.available_balance is None]
        for group, balances_given in ((with_balances, True), (without_balances, False)):
            if not group:
                continue
            stmt = self.upsert(AccountRow)
            updated = {name: stmt.excluded[name] for name in _DESCRIPTIVE_COLUMNS}
            if balances_given:
                updated |= {"current_balance": stmt.excluded.current_balance,
                            "available_balance": stmt.excluded.available_balance}
            stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "account_id"], set_=updated)
            await self.session.execute(stmt, [self._row_values(a, now) for a in group])
        await self._replace_parties(accounts)

    def _row_values(self, account: Account, now: dt.datetime) -> dict[str, object]:
        current = account.current_balance
        available = account.available_balance
        # Only one balance given: the other follows it (a bank feed often sends just one).
        current = current if current is not None else (available if available is not None else Decimal(0))
        available = available if available is not None else current
        return {"tenant_id": self.tenant_id, "account_id": account.account_id, "customer_id": account.customer_id,
                "authorized_customer_ids": account.authorized_customer_ids, "account_type": account.type.value,
                "container": account.container.value, "currency": account.currency,
                "provider_name": account.provider_name, "account_name": account.account_name,
                "current_balance": current, "available_balance": available, "open_date": account.open_date,
                "attributes": account.attributes, "created_at": now, "updated_at": now}

    async def _replace_parties(self, accounts: list[Account]) -> None:
        ids = [a.account_id for a in accounts]
        await self.session.execute(delete(AccountPartyRow).where(
            AccountPartyRow.tenant_id == self.tenant_id, AccountPartyRow.account_id.in_(ids)))
        parties = {(a.account_id, c) for a in accounts for c in [a.customer_id, *a.authorized_customer_ids]}
        if parties:
            await self.session.execute(self.upsert(AccountPartyRow).on_conflict_do_nothing(), [
                {"tenant_id": self.tenant_id, "account_id": a, "customer_id": c} for a, c in sorted(parties)])

    async def get(self, account_id: str) -> Account | None:
        row = await self.session.get(AccountRow, (self.tenant_id, account_id))
        return None if row is None else _to_domain(row)

    async def currencies(self, account_ids: set[str]) -> dict[str, str]:
        """account id -> currency, for the ids that exist. Plain SQL with the ids as one array: this
        runs for every ingested batch, and rendering an IN list of hundreds of binds costs more than
        the query."""
        if not account_ids:
            return {}
        connection = await self.session.connection()
        # exec_driver_sql() is typed as giving one-column rows.
        rows: CursorResult[*tuple[Any, ...]]
        if connection.dialect.name == "postgresql":
            rows = await connection.exec_driver_sql(
                "SELECT account_id, currency FROM accounts WHERE tenant_id = $1 AND account_id = ANY($2::text[])",
                (self.tenant_id, list(account_ids)))
        else:
            # The ids as one JSON parameter: one statement text (and one prepared statement in sqlite3's
            # cache) whatever their number.
            rows = await connection.exec_driver_sql(
                "SELECT account_id, currency FROM accounts WHERE tenant_id = ? AND account_id IN "
                "(SELECT value FROM json_each(?))", (self.tenant_id, json.dumps(list(account_ids))))
        return {account_id: currency for account_id, currency in rows}

    async def lock_balances(self, account_ids: set[str]
                            ) -> tuple[dict[str, tuple[int, int]], dict[str, AccountHolder]]:
        """account id -> (current, available) balance in whole ten-thousandths, and account id -> its
        holder (owner, type, container), held until the unit of work ends: PostgreSQL locks the rows in id
        order, so that transactions moving overlapping sets of accounts wait for each other instead of
        deadlocking; SQLite has a single writer (the caller has written in this transaction already, so it
        holds it)."""
        if not account_ids:
            return {}, {}
        connection = await self.session.connection()
        rows: CursorResult[*tuple[Any, ...]]  # (account_id, current, available, customer_id, type, container)
        if connection.dialect.name == "postgresql":
            rows = await connection.exec_driver_sql(_LOCK_IN_ID_ORDER, (self.tenant_id, sorted(account_ids)))
        else:
            rows = await connection.exec_driver_sql(_SQLITE_BALANCES, (self.tenant_id, json.dumps(sorted(account_ids))))
        balances: dict[str, tuple[int, int]] = {}
        holders: dict[str, AccountHolder] = {}
        for account_id, current, available, customer_id, account_type, container in rows:
            balances[account_id] = (int(current), int(available))
            holders[account_id] = AccountHolder(customer_id, account_type, container)
        return balances, holders

    async def add_to_balances(self, deltas: dict[str, int], now: dt.datetime) -> None:
        """Adds each delta (whole ten-thousandths) to the account's current and available balance; the
        accounts are held with lock_balances first."""
        if not deltas:
            return
        connection = await self.session.connection()
        ids = sorted(deltas)
        amounts = [deltas[i] for i in ids]
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(_ADD_TO_BALANCES,
                                             (self.tenant_id, now, text_array(ids), integer_array(amounts)))
        else:
            stamp = sqlite_datetime_text(now)
            await connection.exec_driver_sql(_SQLITE_ADD_TO_BALANCE, [
                (amount, amount, stamp, self.tenant_id, account_id)
                for account_id, amount in zip(ids, amounts, strict=True)])

    async def is_party(self, account_id: str, customer_id: str) -> bool:
        found = await self.session.get(AccountPartyRow, (self.tenant_id, account_id, customer_id))
        return found is not None

    async def list_after(self, after: str | None, limit: int, customer_id: str | None = None) -> list[Account]:
        query = select(AccountRow).where(AccountRow.tenant_id == self.tenant_id)
        if customer_id is not None:
            party_of = select(AccountPartyRow.account_id).where(
                AccountPartyRow.tenant_id == self.tenant_id, AccountPartyRow.customer_id == customer_id)
            query = query.where(or_(AccountRow.customer_id == customer_id, AccountRow.account_id.in_(party_of)))
        rows = await self.session.scalars(
            keyset_page(query, [AccountRow.account_id], None if after is None else (after,), limit))
        return [_to_domain(row) for row in rows]

    async def get_many(self, account_ids: set[str]) -> list[Account]:
        if not account_ids:
            return []
        rows = await self.session.scalars(select(AccountRow).where(
            AccountRow.tenant_id == self.tenant_id, AccountRow.account_id.in_(account_ids)))
        return [_to_domain(row) for row in rows]
