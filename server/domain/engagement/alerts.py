"""Transaction alerts: which accepted transactions trigger an event. Empty criteria match anything; a
named operation preset stands for the usual categories of that operation (including the Berka data
set's: VYBER is a cash withdrawal, VKLAD a cash deposit, PREVOD Z UCTU an incoming transfer)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from server.domain.errors import FieldViolation, InvalidArgument

DIRECTIONS = frozenset({"CREDIT", "DEBIT"})
ACCOUNT_TYPES = frozenset({"CHECKING", "SAVINGS", "CREDIT", "LOAN", "INVESTMENT", "OTHER"})
MAX_LIST = 50


@dataclass(frozen=True)
class TransactionCondition:
    directions: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()  # upper-cased
    description_contains: tuple[str, ...] = ()  # lower-cased
    min_amount: Decimal | None = None
    account_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TransactionFacts:
    direction: str
    category: str
    description: str
    amount: Decimal  # never negative
    account_type: str
    currency: str


OPERATION_PRESETS: dict[str, TransactionCondition] = {
    "ATM_WITHDRAWAL": TransactionCondition(frozenset({"DEBIT"}), frozenset({
        "ATM_WITHDRAWAL", "CASH_WITHDRAWAL", "ATM", "VYBER"})),
    "CASH_DEPOSIT": TransactionCondition(frozenset({"CREDIT"}), frozenset({"CASH_DEPOSIT", "VKLAD"})),
    "ONLINE_DEPOSIT": TransactionCondition(frozenset({"CREDIT"}), frozenset({
        "ONLINE_DEPOSIT", "INCOMING_TRANSFER", "TRANSFER_IN", "PREVOD Z UCTU"})),
    "CARD_PAYMENT": TransactionCondition(frozenset({"DEBIT"}), frozenset({
        "CARD_PAYMENT", "CARD_WITHDRAWAL", "VYBER KARTOU"})),
}


def matches(condition: TransactionCondition, facts: TransactionFacts) -> bool:
    if condition.directions and facts.direction not in condition.directions:
        return False
    if condition.categories and facts.category.upper() not in condition.categories:
        return False
    if condition.description_contains and not any(p in facts.description.lower()
                                                  for p in condition.description_contains):
        return False
    if condition.min_amount is not None and abs(facts.amount) < condition.min_amount:
        return False
    return not condition.account_types or facts.account_type in condition.account_types


def validate_condition(raw: dict[str, Any]) -> None:
    """The stored shape (see condition_from_json); raises InvalidArgument TRANSACTION_ALERT_INVALID."""
    violations: list[FieldViolation] = []
    path = "transaction_alert"
    for field, allowed in (("directions", DIRECTIONS), ("account_types", ACCOUNT_TYPES)):
        unknown = sorted(set(raw.get(field) or []) - allowed)
        if unknown:
            violations.append(FieldViolation(f"{path}.{field}", f"unknown {unknown}; allowed: {sorted(allowed)}"))
    for field in ("categories", "description_contains", "directions", "account_types"):
        values = raw.get(field) or []
        if len(values) > MAX_LIST or any(not str(v).strip() or len(str(v)) > 100 for v in values):
            violations.append(FieldViolation(f"{path}.{field}", f"at most {MAX_LIST} non-empty values of 1-100 "
                                                                "characters"))
    operation = raw.get("operation") or ""
    if operation and operation not in OPERATION_PRESETS:
        violations.append(FieldViolation(f"{path}.operation", f"one of {sorted(OPERATION_PRESETS)}"))
    if operation and (raw.get("categories") or raw.get("description_contains")):
        violations.append(FieldViolation(f"{path}.operation", "give an operation or categories/description_contains, "
                                                              "not both"))
    min_amount = raw.get("min_amount") or ""
    if min_amount:
        try:
            value = Decimal(str(min_amount))
            if not value.is_finite() or value < 0:
                raise InvalidOperation
        except InvalidOperation:
            violations.append(FieldViolation(f"{path}.min_amount", "a decimal number, 0 or more"))
    if violations:
        raise InvalidArgument("TRANSACTION_ALERT_INVALID", "the transaction alert is not valid",
                              violations=violations)


def condition_from_json(raw: dict[str, Any]) -> TransactionCondition:
    preset = OPERATION_PRESETS.get(raw.get("operation") or "")
    min_amount = Decimal(str(raw["min_amount"])) if raw.get("min_amount") else None
    directions = frozenset(raw.get("directions") or [])
    return TransactionCondition(
        directions=directions or (preset.directions if preset else frozenset()),
        categories=preset.categories if preset else frozenset(str(c).upper() for c in raw.get("categories") or []),
        description_contains=tuple(str(p).lower() for p in raw.get("description_contains") or []),
        min_amount=min_amount, account_types=frozenset(raw.get("account_types") or []))
