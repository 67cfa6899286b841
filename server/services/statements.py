"""Ingestion of card and loan statements and of scheduled payments (docs/services/ingest.md#statements):
stored all of a batch or none, in the account's currency, for credit card and loan accounts only. A
scheduled payment that is new or changes state is announced (ScheduledPaymentsChanged) for the
payment alerts to tell the customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from server.domain.auth import Caller
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.events import Money, ScheduledPaymentChange, ScheduledPaymentsChanged
from server.domain.ingest.model import Account
from server.domain.ingest.statements import (
    ScheduledPayment,
    Statement,
    changed,
    check_scheduled_payment,
    check_statement,
    check_transition,
    is_payable,
    settled_at,
)
from server.domain.ingest.validation import check_batch_size, reject_repeated_ids
from server.domain.pagination import Page, PageRequest, page_key, paginate
from server.services.clock import Clock, utc_now
from server.services.events import EventPublisher, announce_committed
from server.services.ingestion import MAX_UPSERT_BATCH, WRITERS, IngestionService
from server.store.db import Database
from server.store.uow import UnitOfWork


def _check_accounts(accounts: dict[str, Account], rows: Sequence[Statement | ScheduledPayment], what: str) -> None:
    """Every row names a stored card or loan account (FAILED_PRECONDITION) and is in its currency."""
    missing = sorted({r.account_id for r in rows} - set(accounts))
    if missing:
        raise FailedPrecondition("UNKNOWN_ACCOUNT", f"{what} name unknown accounts: {', '.join(missing[:10])}")
    not_payable = sorted({a.account_id for a in accounts.values() if not is_payable(a.type, a.container)})
    if not_payable:
        raise FailedPrecondition("ACCOUNT_NOT_PAYABLE", f"{what} are for credit card and loan accounts only (type "
                                 f"CREDIT or LOAN, or container CREDIT_CARD or LOAN): {', '.join(not_payable[:10])}")
    mismatched = sorted({r.account_id for r in rows if r.currency != accounts[r.account_id].currency})
    if mismatched:
        raise InvalidArgument("CURRENCY_MISMATCH", f"{what} must be in their account's currency: "
                              f"{', '.join(mismatched[:10])}")


class StatementsService:
    def __init__(self, database: Database, publisher: EventPublisher, ingestion: IngestionService,
                 clock: Clock = utc_now) -> None:
        self._database = database
        self._publisher = publisher
        self._ingestion = ingestion  # account visibility, as the other ingest reads check it
        self._clock = clock

    async def upsert_statements(self, caller: Caller, statements: list[Statement]) -> int:
        caller.require_role(*WRITERS)
        check_batch_size(len(statements), MAX_UPSERT_BATCH, "statements")
        for position, statement in enumerate(statements):
            check_statement(statement, f"statements[{position}]")
        reject_repeated_ids([s.statement_id for s in statements], "statement_id")
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            accounts = {a.account_id: a for a in await uow.accounts.get_many({s.account_id for s in statements})}
            _check_accounts(accounts, statements, "statements")
            await uow.statements.upsert_many(statements, self._clock())
            await uow.commit()
        return len(statements)

    async def list_statements(self, caller: Caller, account_id: str, page: PageRequest) -> Page[Statement]:
        await self._ingestion.get_account(caller, account_id)  # existence and visibility
        after = page_key(page, lambda key: (dt.date.fromisoformat(key[0]), str(key[1])))
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.statements.of_account(account_id, after, page.size + 1)
        return paginate(found, page, "statements", lambda s: [s.due_date.isoformat() if s.due_date else "",
                                                              s.statement_id])

    async def upsert_scheduled_payments(self, caller: Caller, payments: list[ScheduledPayment]) -> int:
        """A new payment, or a change of a stored one's fields or state, is stored and announced; a payment
        sent again as stored changes nothing. A payment in a final state keeps it (PAYMENT_STATE_FINAL)."""
        caller.require_role(*WRITERS)
        check_batch_size(len(payments), MAX_UPSERT_BATCH, "scheduled_payments")
        for position, payment in enumerate(payments):
            check_scheduled_payment(payment, f"scheduled_payments[{position}]")
        reject_repeated_ids([p.payment_id for p in payments], "payment_id")
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            accounts = {a.account_id: a for a in await uow.accounts.get_many({p.account_id for p in payments})}
            _check_accounts(accounts, payments, "scheduled payments")
            stored = await uow.scheduled_payments.get_many({p.payment_id for p in payments})
            for payment in payments:
                check_transition(stored.get(payment.payment_id), payment)
            settled = [replace(p, settled_at=settled_at(stored.get(p.payment_id), p, now))
                       for p in payments if changed(stored.get(p.payment_id), p)]
            if settled:
                await uow.scheduled_payments.upsert_many(settled, now)
            state_changes = tuple(
                ScheduledPaymentChange(p.payment_id, p.account_id, accounts[p.account_id].customer_id, p.state.value,
                                       Money(p.amount, p.currency), p.scheduled_date)
                for p in settled if p.scheduled_date is not None
                and (p.payment_id not in stored or stored[p.payment_id].state is not p.state))
            if state_changes:
                await uow.domain_events.add(caller.tenant_id, ScheduledPaymentsChanged(state_changes), now)
            await uow.commit()
        await announce_committed(self._publisher, uow.domain_events.added)
        return len(payments)

    async def list_scheduled_payments(self, caller: Caller, account_id: str, page: PageRequest
                                      ) -> Page[ScheduledPayment]:
        await self._ingestion.get_account(caller, account_id)
        after = page_key(page, lambda key: (dt.date.fromisoformat(key[0]), str(key[1])))
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.scheduled_payments.of_account(account_id, after, page.size + 1)
        return paginate(found, page, "scheduledPayments",
                        lambda p: [p.scheduled_date.isoformat() if p.scheduled_date else "", p.payment_id])
