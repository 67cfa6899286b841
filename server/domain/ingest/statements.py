"""Statements of credit card and loan accounts, and payments scheduled towards them: what the bank feeds
so that Engage can remind a customer of a payment due and tell them what became of a payment
(docs/services/ingest.md#statements). Checks here need no database; each raises a stable code."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from server.domain.errors import FailedPrecondition, FieldViolation
from server.domain.ingest.model import AccountType, Container
from server.domain.ingest.validation import _raise_if, amount_violation, id_violation
from server.domain.money import is_currency_code


class PaymentState(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def final(self) -> bool:
        return self is not PaymentState.SCHEDULED


@dataclass(frozen=True)
class Statement:
    statement_id: str
    account_id: str
    statement_date: dt.date | None  # None only before validation (the field was left out)
    due_date: dt.date | None
    minimum_due: Decimal
    statement_balance: Decimal
    currency: str
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ScheduledPayment:
    payment_id: str
    account_id: str
    amount: Decimal
    currency: str
    scheduled_date: dt.date | None
    state: PaymentState
    settled_at: dt.datetime | None = None  # when it reached a final state
    updated_at: dt.datetime | None = None


# The accounts a statement or a payment can be about: what a customer owes on.
PAYABLE_TYPES = frozenset({AccountType.CREDIT, AccountType.LOAN})
PAYABLE_CONTAINERS = frozenset({Container.CREDIT_CARD, Container.LOAN})


def is_payable(account_type: str, container: str) -> bool:
    return account_type in PAYABLE_TYPES or container in PAYABLE_CONTAINERS


def check_statement(statement: Statement, prefix: str = "statement") -> None:
    """INVALID_STATEMENT naming every field that is wrong."""
    violations: list[FieldViolation | None] = [
        id_violation(f"{prefix}.statement_id", statement.statement_id),
        id_violation(f"{prefix}.account_id", statement.account_id),
        amount_violation(f"{prefix}.minimum_due", statement.minimum_due, non_negative=True),
        amount_violation(f"{prefix}.statement_balance", statement.statement_balance, non_negative=True),
    ]
    if not is_currency_code(statement.currency):
        violations.append(FieldViolation(f"{prefix}.minimum_due.currency_code", "must be a three-letter ISO 4217 "
                                                                                "code, the same in both amounts"))
    if statement.statement_date is None:
        violations.append(FieldViolation(f"{prefix}.statement_date", "is required"))
    if statement.due_date is None:
        violations.append(FieldViolation(f"{prefix}.due_date", "is required"))
    if statement.statement_date and statement.due_date and statement.due_date < statement.statement_date:
        violations.append(FieldViolation(f"{prefix}.due_date", "must not be before statement_date"))
    _raise_if(violations, "INVALID_STATEMENT", "statement")


def check_scheduled_payment(payment: ScheduledPayment, prefix: str = "scheduled_payment") -> None:
    """INVALID_SCHEDULED_PAYMENT naming every field that is wrong."""
    violations: list[FieldViolation | None] = [
        id_violation(f"{prefix}.payment_id", payment.payment_id),
        id_violation(f"{prefix}.account_id", payment.account_id),
        amount_violation(f"{prefix}.amount", payment.amount),
    ]
    if payment.amount <= 0:
        violations.append(FieldViolation(f"{prefix}.amount", "must be more than zero"))
    if not is_currency_code(payment.currency):
        violations.append(FieldViolation(f"{prefix}.amount.currency_code", "must be a three-letter ISO 4217 code"))
    if payment.scheduled_date is None:
        violations.append(FieldViolation(f"{prefix}.scheduled_date", "is required"))
    _raise_if(violations, "INVALID_SCHEDULED_PAYMENT", "scheduled payment")


def check_transition(stored: ScheduledPayment | None, incoming: ScheduledPayment) -> None:
    """A payment moves SCHEDULED -> PROCESSED, FAILED or CANCELLED once; a final state is kept (sending it
    again is a no-op, sending another is FAILED_PRECONDITION PAYMENT_STATE_FINAL)."""
    if stored is not None and stored.state.final and incoming.state is not stored.state:
        raise FailedPrecondition("PAYMENT_STATE_FINAL",
                                 f"scheduled payment '{incoming.payment_id}' is {stored.state.value} already and "
                                 f"cannot become {incoming.state.value}")


def changed(stored: ScheduledPayment | None, incoming: ScheduledPayment) -> bool:
    """Whether storing `incoming` changes anything a reader sees (times of storing aside)."""
    if stored is None:
        return True
    return (stored.account_id, stored.amount, stored.currency, stored.scheduled_date, stored.state) != (
        incoming.account_id, incoming.amount, incoming.currency, incoming.scheduled_date, incoming.state)


def settled_at(stored: ScheduledPayment | None, incoming: ScheduledPayment, now: dt.datetime) -> dt.datetime | None:
    """When `incoming` reached its final state: as the bank gave it, or `now`; kept when that state was
    stored before. None while SCHEDULED."""
    if not incoming.state.final:
        return None
    if stored is not None and stored.state is incoming.state:
        return stored.settled_at
    return incoming.settled_at or now
