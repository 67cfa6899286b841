"""Payment alerts (docs/services/engagement.md#payment-alerts): the bank binds an event to a kind of
payment news, and Engage triggers it for the account's owner through the usual sending path (the event's
messages, its channels, the customer's preferences, the deliveries outbox).

- Reminders (DUE, OVERDUE) come from ingested statements: an hourly run looks at every enabled tenant's
  statements as of the tenant's own day (server.domain.engagement.payment_alerts has the rules).
- Notices (SCHEDULED, PROCESSED, FAILED) come from ingested scheduled payments: a bus handler of
  ScheduledPaymentsChanged.

Each is recorded under a trigger key of its alert and statement (or payment and state): a run or a
handler repeated, or two at the same moment, sends nothing twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import structlog

from server.domain.auth import Caller
from server.domain.engagement.payment_alerts import (
    NOTICE_STATES,
    PaymentAlert,
    PaymentAlertKind,
    amount_paid,
    check_payment_alert,
    days_left,
    due_dates_to_read,
    is_covered,
    is_reminder_day,
    local_today,
    notice_key,
    payments_counted_from,
    reminder_key,
)
from server.domain.errors import not_found
from server.domain.events import ScheduledPaymentsChanged
from server.domain.ids import new_id
from server.domain.ingest.statements import Statement
from server.domain.pagination import Page, PageRequest, paginate
from server.domain.tenants import Tenant
from server.services.clock import Clock, utc_now
from server.services.engagement import EngagementService, account_tokens
from server.services.engagement_setup import READ_ROLES, SETUP_ROLES
from server.services.events import AfterCommit
from server.services.fanout import Trigger
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)


def _amount(value: Any) -> str:
    return f"{value:,.2f}"


class PaymentAlertsService:
    def __init__(self, database: Database, engagement: EngagementService, clock: Clock = utc_now) -> None:
        self._database = database
        self._engagement = engagement
        self._clock = clock

    # -- set-up ---------------------------------------------------------------------------------

    async def create(self, caller: Caller, event_id: str, kind: PaymentAlertKind, days_before_due: int
                     ) -> PaymentAlert:
        caller.require_role(*SETUP_ROLES)
        check_payment_alert(kind, days_before_due)
        alert = PaymentAlert(new_id(), event_id, kind, days_before_due, self._clock())
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if await uow.events.get(event_id) is None:
                raise not_found("event", event_id)
            await uow.payment_alerts.add(alert)
            await uow.commit()
        return alert

    async def list(self, caller: Caller, page: PageRequest) -> Page[PaymentAlert]:
        caller.require_role(*READ_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            found = await uow.payment_alerts.page(page.after, page.size + 1)
        return paginate(found, page, "paymentAlerts", lambda a: a.alert_id)

    async def delete(self, caller: Caller, alert_id: str) -> None:
        caller.require_role(*SETUP_ROLES)
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            if not await uow.payment_alerts.delete(alert_id):
                raise not_found("payment_alert", alert_id)
            await uow.commit()

    # -- notices: a bus handler -----------------------------------------------------------------

    async def on_scheduled_payments_changed(self, uow: UnitOfWork, tenant_id: str, event: ScheduledPaymentsChanged
                                            ) -> AfterCommit | None:
        """Bus handler (payment_notices): each payment that became SCHEDULED, PROCESSED or FAILED triggers
        the events of the alerts of that kind for the account's owner."""
        alerts = await uow.payment_alerts.of_kinds(NOTICE_STATES)
        if not alerts or not event.changes:
            return None
        events = {e.event_id: e for e in await uow.events.get_many({a.event_id for a in alerts})}
        accounts = {a.account_id: a for a in await uow.accounts.get_many({c.account_id for c in event.changes})}
        triggers = []
        for alert in alerts:
            bound = events.get(alert.event_id)
            if bound is None:
                continue
            for change in event.changes:
                account = accounts.get(change.account_id)
                if account is None or change.state != NOTICE_STATES[alert.kind].value:
                    continue
                tokens = {"payment": {"id": change.payment_id, "amount": _amount(change.amount.amount),
                                      "currency": change.amount.currency,
                                      "scheduled_date": change.scheduled_date.isoformat(), "state": change.state},
                          "account": account_tokens(account)}
                triggers.append(Trigger(bound, change.customer_id,
                                        notice_key(alert.alert_id, change.payment_id, NOTICE_STATES[alert.kind]),
                                        tokens))
        return await self._engagement.send_automatic(uow, tenant_id, triggers, "payment_notice_not_sent")

    # -- reminders: the hourly run --------------------------------------------------------------

    async def send_reminders(self, now: dt.datetime | None = None) -> int:
        """Every enabled tenant's due and overdue reminders as of its own day at `now` (the clock's now
        when None). Returns how many reminders were recorded now. A tenant whose run fails does not hold
        the others back: the first failure is raised once all have run (the next run catches it up)."""
        now = now or self._clock()
        async with UnitOfWork(self._database) as uow:
            tenants = [t for t in await uow.tenants.list() if not t.disabled]
        sent, failed = 0, None
        for tenant in tenants:
            try:
                sent += await self.send_tenant_reminders(tenant, now)
            except Exception as exc:  # raised below, once the other tenants have run
                log.exception("payment_reminders_failed", tenant=tenant.tenant_id)
                failed = failed or exc
        if failed is not None:
            raise failed
        return sent

    async def send_tenant_reminders(self, tenant: Tenant, now: dt.datetime) -> int:
        today = local_today(now, tenant.time_zone)
        async with UnitOfWork(self._database, tenant.tenant_id) as uow:
            alerts = await uow.payment_alerts.of_kinds([PaymentAlertKind.DUE, PaymentAlertKind.OVERDUE])
            if not alerts:
                return 0
            first, last = due_dates_to_read(today, max(a.days_before_due for a in alerts))
            statements = await uow.statements.due_between(first, last)
            latest = await uow.statements.latest_due_dates({s.account_id for s in statements})
            # An older statement's amount is carried into its account's newer one: remind of the latest only.
            statements = [s for s in statements if s.due_date is not None and s.due_date == latest.get(s.account_id)]
            wanted = [(a, s) for a in alerts for s in statements
                      if s.due_date is not None and is_reminder_day(a.kind, a.days_before_due, s.due_date, today)]
            # Those sent already are passed over before anything is read for them: a reminder is due on
            # every run of its window, and is recorded on the first.
            taken = await uow.deliveries.recorded_trigger_keys(
                {reminder_key(a.alert_id, s.statement_id) for a, s in wanted})
            wanted = [(a, s) for a, s in wanted if reminder_key(a.alert_id, s.statement_id) not in taken]
            if not wanted:
                return 0
            events = {e.event_id: e for e in await uow.events.get_many({a.event_id for a, _ in wanted})}
            accounts = {a.account_id: a for a in await uow.accounts.get_many({s.account_id for _, s in wanted})}
            paid = await self._paid(uow, list({s.statement_id: s for _, s in wanted}.values()), tenant.time_zone)
            triggers = []
            for alert, statement in wanted:
                bound, account = events.get(alert.event_id), accounts.get(statement.account_id)
                if bound is None or account is None:
                    continue
                if is_covered(statement.minimum_due, paid[statement.statement_id]):
                    continue
                triggers.append(Trigger(bound, account.customer_id,
                                        reminder_key(alert.alert_id, statement.statement_id),
                                        {"statement": self._statement_tokens(statement, paid[statement.statement_id],
                                                                             today),
                                         "account": account_tokens(account)}))
            announce = await self._engagement.send_automatic(uow, tenant.tenant_id, triggers,
                                                             "payment_reminder_not_sent")
            await uow.commit()
        if announce is not None:
            await announce()
        if triggers:
            log.info("payment_reminders", tenant=tenant.tenant_id, today=today.isoformat(), triggers=len(triggers))
        return len(triggers)

    @staticmethod
    async def _paid(uow: UnitOfWork, statements: Sequence[Statement], time_zone: str) -> dict[str, Decimal]:
        """statement id -> what was paid towards it. Two queries per statement date (a bank's cards close
        on a few dates a month), not per statement."""
        by_date: dict[dt.date, list[Statement]] = {}
        for statement in statements:
            assert statement.statement_date is not None
            by_date.setdefault(statement.statement_date, []).append(statement)
        paid: dict[str, Decimal] = {}
        for closed, closing in by_date.items():
            since, accounts = payments_counted_from(closed, time_zone), {s.account_id for s in closing}
            credits = await uow.scheduled_payments.credits_since(accounts, since)
            processed = await uow.scheduled_payments.processed_since(accounts, since)
            for statement in closing:
                paid[statement.statement_id] = amount_paid(credits.get(statement.account_id, Decimal(0)),
                                                           processed.get(statement.account_id, Decimal(0)))
        return paid

    @staticmethod
    def _statement_tokens(statement: Statement, paid: Decimal, today: dt.date) -> dict[str, str]:
        assert statement.due_date is not None and statement.statement_date is not None
        return {"id": statement.statement_id, "due_date": statement.due_date.isoformat(),
                "statement_date": statement.statement_date.isoformat(),
                "minimum_due": _amount(statement.minimum_due), "balance": _amount(statement.statement_balance),
                "currency": statement.currency, "paid": _amount(paid),
                "remaining": _amount(max(statement.minimum_due - paid, 0)),
                "days_left": str(days_left(statement.due_date, today))}
