"""Transaction alerts: which accepted transactions trigger an event. Empty criteria match anything; a
named operation preset stands for the usual categories of that operation (including the Berka data
set's: VYBER is a cash withdrawal, VKLAD a cash deposit, PREVOD Z UCTU an incoming transfer). Statuses
empty match BOOKED transactions only (postings); DECLINED or PENDING must be asked for. A baseline
(server.domain.engagement.baseline) is judged by the caller, which has the history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from server.domain.engagement.baseline import (
    DEFAULT_DAYS,
    DEFAULT_MIN_HISTORY,
    DEFAULT_PERCENTILE,
    MAX_DAYS,
    MAX_MIN_HISTORY,
    Baseline,
)
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.events import Posting
from server.domain.ingest.model import AccountType, TransactionStatus

DIRECTIONS = frozenset({"CREDIT", "DEBIT"})
ACCOUNT_TYPES = frozenset(t.value for t in AccountType)
STATUSES = frozenset(s.value for s in TransactionStatus)
BOOKED_ONLY = frozenset({TransactionStatus.BOOKED.value})
MAX_LIST = 50


@dataclass(frozen=True)
class TransactionCondition:
    directions: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()  # upper-cased
    description_contains: tuple[str, ...] = ()  # lower-cased
    min_amount: Decimal | None = None
    account_types: frozenset[str] = frozenset()
    statuses: frozenset[str] = BOOKED_ONLY
    balance_below: Decimal | None = None


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
    if posting.status not in condition.statuses:
        return False
    if condition.balance_below is not None and not fell_below(posting, condition.balance_below):
        return False
    return not condition.account_types or posting.account_type in condition.account_types


def fell_below(posting: Posting, threshold: Decimal) -> bool:
    """Whether the posting took its account's balance from the threshold or more to below it. A
    transaction that is not booked moved no balance, so it never does."""
    after = posting.balance_after.amount
    before = after - posting.amount.amount if posting.status == TransactionStatus.BOOKED.value else after
    return after < threshold <= before


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
    statuses: tuple[str, ...] = ()  # empty: BOOKED only
    balance_below: Decimal | None = None
    baseline: Baseline | None = None

    def effective(self) -> TransactionCondition:
        """The preset stands in for categories and, unless directions are given, for directions;
        categories match upper-cased and description fragments lower-cased."""
        preset = OPERATION_PRESETS.get(self.operation)
        return TransactionCondition(
            directions=frozenset(self.directions) or (preset.directions if preset else frozenset()),
            categories=preset.categories if preset else frozenset(c.upper() for c in self.categories),
            description_contains=tuple(p.lower() for p in self.description_contains),
            min_amount=self.min_amount, account_types=frozenset(self.account_types),
            statuses=frozenset(self.statuses) or BOOKED_ONLY, balance_below=self.balance_below)


def alert_condition(*, operation: str = "", directions: Sequence[str] = (), categories: Sequence[str] = (),
                    description_contains: Sequence[str] = (), min_amount: str = "",
                    account_types: Sequence[str] = (), statuses: Sequence[str] = (), balance_below: str = "",
                    baseline: tuple[str, int, int] | None = None) -> AlertCondition:
    """The condition from a request's values (min_amount a decimal string, empty for none); raises
    InvalidArgument TRANSACTION_ALERT_INVALID naming every field that is wrong."""
    violations: list[FieldViolation] = []
    path = "transaction_alert"
    lists = {"directions": directions, "categories": categories, "description_contains": description_contains,
             "account_types": account_types, "statuses": statuses}
    for field, allowed in (("directions", DIRECTIONS), ("account_types", ACCOUNT_TYPES), ("statuses", STATUSES)):
        unknown = sorted(set(lists[field]) - allowed)
        if unknown:
            violations.append(FieldViolation(f"{path}.{field}", f"unknown {unknown}; allowed: {sorted(allowed)}"))
    for field in ("categories", "description_contains", "directions", "account_types", "statuses"):
        values = lists[field]
        if len(values) > MAX_LIST or any(not v.strip() or len(v) > 100 for v in values):
            violations.append(FieldViolation(f"{path}.{field}", f"at most {MAX_LIST} non-empty values of 1-100 "
                                                                "characters"))
    if operation and operation not in OPERATION_PRESETS:
        violations.append(FieldViolation(f"{path}.operation", f"one of {sorted(OPERATION_PRESETS)}"))
    if operation and (categories or description_contains):
        violations.append(FieldViolation(f"{path}.operation", "give an operation or categories/description_contains, "
                                                              "not both"))
    amount = _decimal(min_amount, f"{path}.min_amount", violations, signed=False)
    below = _decimal(balance_below, f"{path}.balance_below", violations, signed=True)
    judged = None
    if baseline is not None:
        judged = _baseline(*baseline, violations, f"{path}.baseline")
    if violations:
        raise InvalidArgument("TRANSACTION_ALERT_INVALID", "the transaction alert is not valid",
                              violations=violations)
    return AlertCondition(operation, tuple(directions), tuple(categories), tuple(description_contains), amount,
                          tuple(account_types), tuple(dict.fromkeys(statuses)), below, judged)


def _decimal(text: str, field: str, violations: list[FieldViolation], *, signed: bool) -> Decimal | None:
    """A decimal string, empty for none."""
    if not text:
        return None
    try:
        value = Decimal(text)
        if not value.is_finite() or (not signed and value < 0):
            raise InvalidOperation
    except InvalidOperation:
        violations.append(FieldViolation(field, "a decimal number" if signed else "a decimal number, 0 or more"))
        return None
    return value


def _baseline(percentile: str, days: int, min_history: int, violations: list[FieldViolation], path: str
              ) -> Baseline | None:
    """The baseline from its request values: empty or 0 take the defaults (99th percentile, 90 days, 10)."""
    before = len(violations)
    value = DEFAULT_PERCENTILE
    if percentile:
        try:
            value = Decimal(percentile)
            if not value.is_finite() or not Decimal(0) < value <= Decimal(100) or value.as_tuple().exponent < -2:  # type: ignore[operator]
                raise InvalidOperation
        except InvalidOperation:
            violations.append(FieldViolation(f"{path}.percentile", "a number above 0 and at most 100, "
                                                                   "at most 2 decimal places"))
    if not 0 <= days <= MAX_DAYS:
        violations.append(FieldViolation(f"{path}.days", f"1 to {MAX_DAYS} (0: {DEFAULT_DAYS})"))
    if not 0 <= min_history <= MAX_MIN_HISTORY:
        violations.append(FieldViolation(f"{path}.min_history", f"1 to {MAX_MIN_HISTORY} (0: {DEFAULT_MIN_HISTORY})"))
    if len(violations) > before:
        return None
    return Baseline(value, days or DEFAULT_DAYS, min_history or DEFAULT_MIN_HISTORY)
