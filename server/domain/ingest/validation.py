"""Checks on ingested rows that need no database: each returns a stable reason code or None."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.ingest.model import Account, Customer, DailyBalance, Holding, IncomingTransaction
from server.domain.money import AmountError, is_currency_code, to_scaled

# Ids are the bank's own keys: printable, no slash (they appear in resource names), bounded.
_ID = re.compile(r"^[A-Za-z0-9._:@\-]{1,64}$")
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_LENGTH = 1024
MAX_TEXT_LENGTH = 512


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def id_violation(field_name: str, value: str) -> FieldViolation | None:
    if not value:
        return FieldViolation(field_name, "is required")
    if not is_valid_id(value):
        return FieldViolation(field_name, "must be 1-64 characters of letters, digits and . _ : @ -")
    return None


def amount_violation(field_name: str, amount: Decimal | None, *, non_negative: bool = False) -> FieldViolation | None:
    if amount is None:
        return None
    try:
        to_scaled(amount)
    except AmountError as exc:
        return FieldViolation(field_name, str(exc))
    if non_negative and amount < 0:
        return FieldViolation(field_name, "must not be negative")
    return None


def attributes_violations(field_name: str, attributes: dict[str, str]) -> list[FieldViolation]:
    found = []
    if len(attributes) > MAX_ATTRIBUTES:
        found.append(FieldViolation(field_name, f"at most {MAX_ATTRIBUTES} attributes"))
    for key, value in attributes.items():
        if not key or len(key) > 64:
            found.append(FieldViolation(f"{field_name}[{key}]", "keys are 1-64 characters"))
        if len(value) > MAX_ATTRIBUTE_LENGTH:
            found.append(FieldViolation(f"{field_name}[{key}]", f"at most {MAX_ATTRIBUTE_LENGTH} characters"))
    return found


def _raise_if(violations: list[FieldViolation | None], code: str, what: str) -> None:
    real = [v for v in violations if v is not None]
    if real:
        raise InvalidArgument(code, f"{what} is invalid: " + "; ".join(f"{v.field} {v.description}" for v in real),
                              violations=real)


def check_customer(customer: Customer, prefix: str = "customer") -> None:
    _raise_if([id_violation(f"{prefix}.customer_id", customer.customer_id),
               *attributes_violations(f"{prefix}.attributes", customer.attributes)],
              "INVALID_CUSTOMER", "customer")


def check_account(account: Account, prefix: str = "account") -> None:
    violations: list[FieldViolation | None] = [
        id_violation(f"{prefix}.account_id", account.account_id),
        id_violation(f"{prefix}.customer_id", account.customer_id),
        None if is_currency_code(account.currency)
        else FieldViolation(f"{prefix}.currency_code", "must be a three-letter ISO 4217 code"),
        amount_violation(f"{prefix}.current_balance", account.current_balance),
        amount_violation(f"{prefix}.available_balance", account.available_balance),
        *attributes_violations(f"{prefix}.attributes", account.attributes),
    ]
    for position, other in enumerate(account.authorized_customer_ids):
        violations.append(id_violation(f"{prefix}.authorized_customer_ids[{position}]", other))
    for name, text in (("provider_name", account.provider_name), ("account_name", account.account_name)):
        if len(text) > MAX_TEXT_LENGTH:
            violations.append(FieldViolation(f"{prefix}.{name}", f"at most {MAX_TEXT_LENGTH} characters"))
    _raise_if(violations, "INVALID_ACCOUNT", "account")


def check_holding(holding: Holding, prefix: str = "holding") -> None:
    violations: list[FieldViolation | None] = [
        id_violation(f"{prefix}.holding_id", holding.holding_id),
        amount_violation(f"{prefix}.amount", holding.amount),
        *attributes_violations(f"{prefix}.attributes", holding.attributes),
    ]
    if not holding.customer_id and not holding.account_id:
        violations.append(FieldViolation(f"{prefix}.customer_id", "a holding needs a customer or an account"))
    if holding.customer_id:
        violations.append(id_violation(f"{prefix}.customer_id", holding.customer_id))
    if holding.account_id:
        violations.append(id_violation(f"{prefix}.account_id", holding.account_id))
    if holding.amount is not None and not (holding.currency and is_currency_code(holding.currency)):
        violations.append(FieldViolation(f"{prefix}.amount.currency_code", "must be a three-letter ISO 4217 code"))
    _raise_if(violations, "INVALID_HOLDING", "holding")


def reject_repeated_ids(ids: list[str], field_name: str) -> None:
    repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
    if repeated:
        raise InvalidArgument("REPEATED_ID", f"{field_name} repeated in one request: {', '.join(repeated[:10])}",
                              violations=[FieldViolation(field_name, f"'{r}' appears more than once")
                                          for r in repeated[:10]])


def check_batch_size(count: int, limit: int, what: str) -> None:
    if count == 0:
        raise InvalidArgument("EMPTY_BATCH", f"no {what} were given",
                              violations=[FieldViolation(what, "at least one is required")])
    if count > limit:
        raise InvalidArgument("BATCH_TOO_LARGE", f"at most {limit} {what} per call, got {count}",
                              violations=[FieldViolation(what, f"at most {limit}")])


def transaction_rejection_reason(txn: IncomingTransaction) -> tuple[str, str] | None:
    """The first reason a transaction cannot be stored, as (code, message), or None."""
    if not txn.transaction_id:
        return "MISSING_TRANSACTION_ID", "transaction_id is required"
    if not is_valid_id(txn.transaction_id):
        return "INVALID_TRANSACTION_ID", "transaction_id must be 1-64 characters of letters, digits and . _ : @ -"
    if not txn.account_id:
        return "MISSING_ACCOUNT_ID", "account_id is required"
    if not is_valid_id(txn.account_id):
        return "UNKNOWN_ACCOUNT", f"account '{txn.account_id}' does not exist"
    if not is_currency_code(txn.currency):
        return "INVALID_CURRENCY", "amount.currency_code must be a three-letter ISO 4217 code"
    if txn.amount is None:
        return "INVALID_AMOUNT", f"amount {txn.amount_error}"
    if txn.amount < 0:
        return "INVALID_AMOUNT", "amount must not be negative"
    if txn.running_balance_error:
        return "INVALID_AMOUNT", f"running_balance {txn.running_balance_error}"
    if txn.direction is None:
        return "MISSING_DIRECTION", "direction must be CREDIT or DEBIT"
    if txn.posted_at is None:
        return "MISSING_POST_TIME", "post_time is required"
    if len(txn.description) > MAX_TEXT_LENGTH or len(txn.category) > 128:
        return "TEXT_TOO_LONG", f"description is at most {MAX_TEXT_LENGTH} and category 128 characters"
    if "\x00" in txn.description or "\x00" in txn.category:
        # PostgreSQL's text cannot hold it: the row, not its whole batch, is refused.
        return "TEXT_NUL_CHARACTER", "description and category cannot contain the NUL character (U+0000)"
    return None


def balance_rejection_reason(balance: DailyBalance) -> tuple[str, str] | None:
    if not balance.account_id:
        return "MISSING_ACCOUNT_ID", "account_id is required"
    if balance.date is None:
        return "MISSING_DATE", "date is required and must be a real calendar date"
    if not is_currency_code(balance.currency):
        return "INVALID_CURRENCY", "balance.currency_code must be a three-letter ISO 4217 code"
    violation = amount_violation("balance", balance.balance)
    if violation:
        return "INVALID_AMOUNT", f"balance {violation.description}"
    return None
