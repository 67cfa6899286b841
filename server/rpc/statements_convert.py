"""Statements and scheduled payments on the wire <-> domain (docs/services/ingest.md#statements)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from engage.ingest.v1 import ingest_service_pb2 as pb
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.ingest.statements import PaymentState, ScheduledPayment, Statement
from server.domain.pagination import text_key
from server.rpc.convert import (
    date_field,
    date_to_proto,
    enum_from_proto,
    enum_to_proto,
    money_field,
    money_to_proto,
    timestamp_from_proto,
    timestamp_to_proto,
)

_STATES = dict(pb.ScheduledPaymentState.items())
_STATE_NAMES: dict[int, str] = {int(number): name for name, number in _STATES.items()}


def _required_money(message: pb.Statement | pb.ScheduledPayment, field_name: str, path: str, code: str
                    ) -> tuple[Decimal, str]:
    amount, currency = money_field(message, field_name, path)
    if amount is None:
        raise InvalidArgument(code, f"{path} is required", violations=[FieldViolation(path, "is required")])
    return amount, currency or ""


def statement_from_proto(message: pb.Statement, path: str) -> Statement:
    minimum, currency = _required_money(message, "minimum_due", f"{path}.minimum_due", "INVALID_STATEMENT")
    balance, balance_currency = _required_money(message, "statement_balance", f"{path}.statement_balance",
                                                "INVALID_STATEMENT")
    if balance_currency != currency:
        raise InvalidArgument("INVALID_STATEMENT", f"{path}: minimum_due and statement_balance differ in currency",
                              violations=[FieldViolation(f"{path}.statement_balance.currency_code",
                                                         "must be minimum_due's currency")])
    return Statement(message.statement_id, message.account_id,
                     date_field(message, "statement_date", f"{path}.statement_date"),
                     date_field(message, "due_date", f"{path}.due_date"), minimum, balance, currency)


def statement_to_proto(statement: Statement) -> pb.Statement:
    return pb.Statement(
        name=f"accounts/{statement.account_id}/statements/{statement.statement_id}",
        statement_id=statement.statement_id, account_id=statement.account_id,
        statement_date=date_to_proto(statement.statement_date), due_date=date_to_proto(statement.due_date),
        minimum_due=money_to_proto(statement.minimum_due, statement.currency),
        statement_balance=money_to_proto(statement.statement_balance, statement.currency),
        update_time=timestamp_to_proto(statement.updated_at))


def scheduled_payment_from_proto(message: pb.ScheduledPayment, path: str) -> ScheduledPayment:
    amount, currency = _required_money(message, "amount", f"{path}.amount", "INVALID_SCHEDULED_PAYMENT")
    state = enum_from_proto(PaymentState, "SCHEDULED_PAYMENT_STATE_", message.state, _STATE_NAMES, f"{path}.state")
    settled = (timestamp_from_proto(message.settle_time, f"{path}.settle_time")
               if message.HasField("settle_time") else None)
    return ScheduledPayment(message.payment_id, message.account_id, amount, currency,
                            date_field(message, "scheduled_date", f"{path}.scheduled_date"), state, settled)


def scheduled_payment_to_proto(payment: ScheduledPayment) -> pb.ScheduledPayment:
    return pb.ScheduledPayment(
        name=f"accounts/{payment.account_id}/scheduledPayments/{payment.payment_id}",
        payment_id=payment.payment_id, account_id=payment.account_id,
        amount=money_to_proto(payment.amount, payment.currency),
        scheduled_date=date_to_proto(payment.scheduled_date),
        state=enum_to_proto(payment.state, "SCHEDULED_PAYMENT_STATE_", _STATES),  # type: ignore[arg-type]
        settle_time=timestamp_to_proto(payment.settled_at), update_time=timestamp_to_proto(payment.updated_at))


def date_and_text_key(after: object) -> tuple[str, str]:
    """The page key of statements and scheduled payments: [an ISO date, an id] (as
    server.domain.pagination.instant_and_text_key, with a date)."""
    if not (isinstance(after, list) and len(after) == 2):
        raise TypeError("not a [date, id] key")
    dt.date.fromisoformat(text_key(after[0]))
    return after[0], text_key(after[1])
