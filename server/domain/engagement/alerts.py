"""Transaction alerts: which accepted transactions trigger an event. Empty criteria match anything; a
named operation preset stands for the usual categories of that operation (including the Berka data
set's: VYBER is a cash withdrawal, VKLAD a cash deposit, PREVOD Z UCTU an incoming transfer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.events import Posting

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


OPERATION_PRESETS: dict[str, TransactionCondition] = {
    "ATM_WITHDRAWAL": TransactionCondition(frozenset({"DEBIT"}), frozenset({
        "ATM_WITHDRAWAL", "CASH_WITHDRAWAL", "ATM", "VYBER"})),
    "CASH_DEPOSIT": TransactionCondition(frozenset({"CREDIT"}), frozenset({"CASH_DEPOSIT", "VKLAD"})),
    "ONLINE_DEPOSIT": TransactionCondition(frozenset({"CREDIT"}), frozenset({
        "ONLINE_DEPOSIT", "INCOMING_TRANSFER", "TRANSFER_IN", "PREVOD Z UCTU"})),
    "CARD_PAYMENT": TransactionCondition(frozenset({"DEBIT"}), frozenset({
        "CARD_PAYMENT", "CARD_WITHDRAWAL", "VYBER KARTOU"})),
}


def matches(condition: TransactionCondition, posting: Posting) -> bool:
    if condition.directions and posting.direction not in condition.directions:
        return False
    if condition.categories and posting.category.upper() not in condition.categories:
        return False
    if condition.description_contains and not any(p in posting.description.lower()
                                                  for p in condition.description_contains):
        return False
    if condition.min_amount is not None and posting.magnitude < condition.min_amount:
        return False
    return not condition.account_types or posting.account_type in condition.account_types


@dataclass(frozen=True)
class AlertCondition:
    """A transaction alert's condition as the operator gave it (kept so that it reads back as given);
    `effective()` is what transactions are matched against."""
    operation: str = ""  # a name in OPERATION_PRESETS, or empty
    directions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    description_contains: tuple[str, ...] = ()
    min_amount: Decimal | None = None
    account_types: tuple[str, ...] = ()

    def effective(self) -> TransactionCondition:
        """The preset stands in for categories and, unless directions are given, for directions;
        categories match upper-cased and description fragments lower-cased."""
        preset = OPERATION_PRESETS.get(self.operation)
        return TransactionCondition(
            directions=frozenset(self.directions) or (preset.directions if preset else frozenset()),
            categories=preset.categories if preset else frozenset(c.upper() for c in self.categories),
            description_contains=tuple(p.lower() for p in self.description_contains),
            min_amount=self.min_amount, account_types=frozenset(self.account_types))


def alert_condition(*, operation: str = "", directions: Sequence[str] = (), categories: Sequence[str] = (),
                    description_contains: Sequence[str] = (), min_amount: str = "",
                    account_types: Sequence[str] = ()) -> AlertCondition:
    """The condition from a request's values (min_amount a decimal string, empty for none); raises
    InvalidArgument TRANSACTION_ALERT_INVALID naming every field that is wrong."""
    violations: list[FieldViolation] = []
    path = "transaction_alert"
    lists = {"directions": directions, "categories": categories, "description_contains": description_contains,
             "account_types": account_types}
    for field, allowed in (("directions", DIRECTIONS), ("account_types", ACCOUNT_TYPES)):
        unknown = sorted(set(lists[field]) - allowed)
        if unknown:
            violations.append(FieldViolation(f"{path}.{field}", f"unknown {unknown}; allowed: {sorted(allowed)}"))
    for field in ("categories", "description_contains", "directions", "account_types"):
        values = lists[field]
        if len(values) > MAX_LIST or any(not v.strip() or len(v) > 100 for v in values):
            violations.append(FieldViolation(f"{path}.{field}", f"at most {MAX_LIST} non-empty values of 1-100 "
                                                                "characters"))
    if operation and operation not in OPERATION_PRESETS:
        violations.append(FieldViolation(f"{path}.operation", f"one of {sorted(OPERATION_PRESETS)}"))
    if operation and (categories or description_contains):
        violations.append(FieldViolation(f"{path}.operation", "give an operation or categories/description_contains, "
                                                              "not both"))
    amount = None
    if min_amount:
        try:
            amount = Decimal(min_amount)
            if not amount.is_finite() or amount < 0:
                raise InvalidOperation
        except InvalidOperation:
            violations.append(FieldViolation(f"{path}.min_amount", "a decimal number, 0 or more"))
    if violations:
        raise InvalidArgument("TRANSACTION_ALERT_INVALID", "the transaction alert is not valid",
                              violations=violations)
    return AlertCondition(operation, tuple(directions), tuple(categories), tuple(description_contains), amount,
                          tuple(account_types))
