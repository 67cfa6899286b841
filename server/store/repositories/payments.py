"""Statements, scheduled payments and payment alerts (server.store.payments_models), and the reads of the
daily payment reminders: statements by due date, and what was paid into an account since an instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import func, select

from server.domain.engagement.payment_alerts import PaymentAlert, PaymentAlertKind
from server.domain.ingest.model import Direction
from server.domain.ingest.statements import PaymentState, ScheduledPayment, Statement
from server.store.models import TransactionRow
from server.store.payments_models import PaymentAlertRow, ScheduledPaymentRow, StatementRow
from server.store.repositories.base import TenantRepository
from server.store.repositories.engagement_base import IdKeyedRepository

_STATEMENT_UPDATED = ("account_id", "statement_date", "due_date", "minimum_due", "statement_balance", "currency",
                      "updated_at")
_PAYMENT_UPDATED = ("account_id", "amount", "currency", "scheduled_date", "state", "settled_at", "updated_at")


class StatementsRepository(TenantRepository):
    async def upsert_many(self, statements: list[Statement], now: dt.datetime) -> None:
        stmt = self.upsert(StatementRow)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "statement_id"],
                                          set_={name: stmt.excluded[name] for name in _STATEMENT_UPDATED})
        await self.session.execute(stmt, [
            {"tenant_id": self.tenant_id, "statement_id": s.statement_id, "account_id": s.account_id,
             "statement_date": s.statement_date, "due_date": s.due_date, "minimum_due": s.minimum_due,
             "statement_balance": s.statement_balance, "currency": s.currency, "updated_at": now}
            for s in statements])

    async def of_account(self, account_id: str, after: tuple[dt.date, str] | None, limit: int) -> list[Statement]:
        """An account's statements, latest due date first (then by id, descending)."""
        query = select(StatementRow).where(StatementRow.tenant_id == self.tenant_id,
                                           StatementRow.account_id == account_id)
        if after is not None:
            due, statement_id = after
            query = query.where((StatementRow.due_date < due)
                                | ((StatementRow.due_date == due) & (StatementRow.statement_id < statement_id)))
        rows = await self.session.scalars(query.order_by(StatementRow.due_date.desc(),
                                                         StatementRow.statement_id.desc()).limit(limit))
        return [_statement(r) for r in rows]

    async def due_between(self, first: dt.date, last: dt.date) -> list[Statement]:
        """The tenant's statements due in [first, last]."""
        rows = await self.session.scalars(select(StatementRow).where(
            StatementRow.tenant_id == self.tenant_id, StatementRow.due_date >= first, StatementRow.due_date <= last))
        return [_statement(r) for r in rows]

    async def latest_due_dates(self, account_ids: Collection[str]) -> dict[str, dt.date]:
        """account id -> the latest due date of its statements."""
        if not account_ids:
            return {}
        rows = await self.session.execute(
            select(StatementRow.account_id, func.max(StatementRow.due_date)).where(
                StatementRow.tenant_id == self.tenant_id, self.one_of(StatementRow.account_id, account_ids)
            ).group_by(StatementRow.account_id))
        return {account_id: due for account_id, due in rows}


class ScheduledPaymentsRepository(TenantRepository):
    async def get_many(self, payment_ids: Collection[str]) -> dict[str, ScheduledPayment]:
        if not payment_ids:
            return {}
        rows = await self.session.scalars(select(ScheduledPaymentRow).where(
            ScheduledPaymentRow.tenant_id == self.tenant_id, self.one_of(ScheduledPaymentRow.payment_id, payment_ids)))
        return {r.payment_id: _payment(r) for r in rows}

    async def upsert_many(self, payments: list[ScheduledPayment], now: dt.datetime) -> None:
        stmt = self.upsert(ScheduledPaymentRow)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "payment_id"],
                                          set_={name: stmt.excluded[name] for name in _PAYMENT_UPDATED})
        await self.session.execute(stmt, [
            {"tenant_id": self.tenant_id, "payment_id": p.payment_id, "account_id": p.account_id, "amount": p.amount,
             "currency": p.currency, "scheduled_date": p.scheduled_date, "state": p.state.value,
             "settled_at": p.settled_at, "updated_at": now} for p in payments])

    async def of_account(self, account_id: str, after: tuple[dt.date, str] | None, limit: int
                         ) -> list[ScheduledPayment]:
        """An account's scheduled payments, latest scheduled date first (then by id, descending)."""
        query = select(ScheduledPaymentRow).where(ScheduledPaymentRow.tenant_id == self.tenant_id,
                                                  ScheduledPaymentRow.account_id == account_id)
        if after is not None:
            day, payment_id = after
            query = query.where((ScheduledPaymentRow.scheduled_date < day)
                                | ((ScheduledPaymentRow.scheduled_date == day)
                                   & (ScheduledPaymentRow.payment_id < payment_id)))
        rows = await self.session.scalars(query.order_by(ScheduledPaymentRow.scheduled_date.desc(),
                                                         ScheduledPaymentRow.payment_id.desc()).limit(limit))
        return [_payment(r) for r in rows]

    async def processed_since(self, account_ids: Collection[str], since: dt.datetime) -> dict[str, Decimal]:
        """account id -> the total of its payments processed at or after `since` (accounts without any
        are absent). One query for all the accounts."""
        if not account_ids:
            return {}
        rows = await self.session.execute(
            select(ScheduledPaymentRow.account_id, func.sum(ScheduledPaymentRow.amount)).where(
                ScheduledPaymentRow.tenant_id == self.tenant_id,
                self.one_of(ScheduledPaymentRow.account_id, account_ids),
                ScheduledPaymentRow.state == PaymentState.PROCESSED.value, ScheduledPaymentRow.settled_at >= since,
            ).group_by(ScheduledPaymentRow.account_id))
        return {account_id: _sum(total) for account_id, total in rows}

    async def credits_since(self, account_ids: Collection[str], since: dt.datetime) -> dict[str, Decimal]:
        """account id -> the total of the credit transactions posted to it at or after `since` (booked
        ones: `transactions` holds no other). One query for all the accounts."""
        if not account_ids:
            return {}
        rows = await self.session.execute(
            select(TransactionRow.account_id, func.sum(TransactionRow.signed_amount)).where(
                TransactionRow.tenant_id == self.tenant_id, self.one_of(TransactionRow.account_id, account_ids),
                TransactionRow.direction == Direction.CREDIT.value, TransactionRow.posted_at >= since,
            ).group_by(TransactionRow.account_id))
        return {account_id: _sum(total) for account_id, total in rows}


class PaymentAlertsRepository(IdKeyedRepository):
    model = PaymentAlertRow
    id_column = "alert_id"

    async def page(self, after: str | None, limit: int) -> list[PaymentAlert]:
        return [_alert(r) for r in await self._page(after, limit)]

    async def of_kinds(self, kinds: Collection[PaymentAlertKind]) -> list[PaymentAlert]:
        return [_alert(r) for r in await self._page(None, 100_000, PaymentAlertRow.kind.in_([k.value for k in kinds]))]

    async def add(self, alert: PaymentAlert) -> None:
        self.session.add(PaymentAlertRow(tenant_id=self.tenant_id, alert_id=alert.alert_id, event_id=alert.event_id,
                                         kind=alert.kind.value, days_before_due=alert.days_before_due,
                                         created_at=alert.created_at))

    async def delete(self, alert_id: str) -> bool:
        return await self._delete(alert_id)


def _statement(row: StatementRow) -> Statement:
    return Statement(row.statement_id, row.account_id, row.statement_date, row.due_date, row.minimum_due,
                     row.statement_balance, row.currency, row.updated_at)


def _payment(row: ScheduledPaymentRow) -> ScheduledPayment:
    return ScheduledPayment(row.payment_id, row.account_id, row.amount, row.currency, row.scheduled_date,
                            PaymentState(row.state), row.settled_at, row.updated_at)


def _alert(row: PaymentAlertRow) -> PaymentAlert:
    return PaymentAlert(row.alert_id, row.event_id, PaymentAlertKind(row.kind), row.days_before_due, row.created_at)


def _sum(total: object) -> Decimal:
    """A SUM over a ScaledAmount column: a Decimal (the column's type converts it), None over no rows."""
    return Decimal(0) if total is None else Decimal(str(total))
