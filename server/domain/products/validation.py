"""Whether a product version's terms make sense, checked when a draft is saved and again at approval.
Every problem is one FieldViolation (field path, description); any at all is PRODUCT_INVALID.

Checked: a currency code; amount limits above 0 and term limits of whole positive months; every
interval non-empty; rates, charges and discounts not negative, percentages at most 100; names present
and unique within their section; conditions naming a persona or attribute; one type per attribute
across the version: a number, a bool or text (an attribute tested as a number here and as text there
fails one of them always, and the coverage analysis needs one type per axis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.money import is_currency_code
from server.domain.products.conditions import Condition, InPersona, NumberIn, TermIn, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.terms import ProductTerms

_HUNDRED = Decimal(100)


def _interval(path: str, interval: Interval, integral: bool = False) -> list[FieldViolation]:
    if any(bound is not None and not bound.is_finite() for bound in (interval.low, interval.high)):
        return [FieldViolation(path, f"the interval {interval} has a bound that is not a number")]
    if interval.is_empty(integral):
        what = "whole number of months" if integral else "value"
        return [FieldViolation(path, f"the interval {interval} holds no {what}")]
    return []


def _condition(path: str, condition: Condition) -> list[FieldViolation]:
    if isinstance(condition, InPersona):
        missing = not condition.persona_id.strip()
        return [FieldViolation(path, "a persona condition without a persona id")] if missing else []
    if isinstance(condition, (NumberIn, ValueIn)) and not condition.attribute.strip():
        return [FieldViolation(path, "an attribute condition without an attribute name")]
    if isinstance(condition, ValueIn):
        kinds = {isinstance(v, bool) for v in condition.values}
        if not condition.values:
            return [FieldViolation(path, f"{condition.attribute}: no values to compare with")]
        if len(kinds) > 1:
            return [FieldViolation(path, f"{condition.attribute}: values mix bool and text")]
        return []
    return _interval(path, condition.interval, integral=isinstance(condition, TermIn))


def _conditions(path: str, conditions: Iterable[Condition]) -> list[FieldViolation]:
    return [v for i, c in enumerate(conditions) for v in _condition(f"{path}.conditions[{i}]", c)]


def _not_negative(path: str, value: Decimal, percent: bool = False) -> list[FieldViolation]:
    if not value.is_finite() or value < 0:
        return [FieldViolation(path, f"{value} is negative or not a number")]
    if percent and value > _HUNDRED:
        return [FieldViolation(path, f"{value} is more than 100 percent")]
    return []


def _names(section: str, names: list[str]) -> list[FieldViolation]:
    found = [FieldViolation(f"{section}[{i}].name", "a name is required") for i, n in enumerate(names) if not n.strip()]
    repeated = sorted(n for n, count in Counter(names).items() if count > 1 and n.strip())
    return found + [FieldViolation(section, f"the name '{n}' is used twice") for n in repeated]


def _attribute_kinds(terms: ProductTerms) -> list[FieldViolation]:
    kinds: dict[str, set[str]] = {}
    for condition in terms.all_conditions():
        if isinstance(condition, NumberIn):
            kinds.setdefault(condition.attribute, set()).add("a number")
        elif isinstance(condition, ValueIn):
            found = kinds.setdefault(condition.attribute, set())
            found.update("a bool" if isinstance(v, bool) else "text" for v in condition.values)
    return [FieldViolation("conditions", f"the attribute '{name}' is tested as {' and as '.join(sorted(found))}")
            for name, found in sorted(kinds.items()) if len(found) > 1]


def violations(terms: ProductTerms) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if not is_currency_code(terms.currency):
        found.append(FieldViolation("currency", f"'{terms.currency}' is not an ISO 4217 code"))
    found += _interval("amount_limits", terms.amount_limits)
    if terms.amount_limits.low is None or terms.amount_limits.low < 0:
        found.append(FieldViolation("amount_limits", "the amount limits need a lower bound of at least 0"))
    found += _interval("term_limits", terms.term_limits, integral=True)
    if terms.term_limits.low is None or terms.term_limits.low < 1:
        found.append(FieldViolation("term_limits", "the term limits need a lower bound of at least 1 month"))
    found += _names("availability", [r.name for r in terms.availability])
    for i, rule in enumerate(terms.availability):
        found += _conditions(f"availability[{i}]", rule.conditions)
    found += _names("interest_lists", [x.name for x in terms.interest_lists])
    for i, item in enumerate(terms.interest_lists):
        found += _not_negative(f"interest_lists[{i}].annual_rate", item.annual_rate)
        found += _names(f"interest_lists[{i}].commissions", [c.name for c in item.commissions])
        for j, charge in enumerate(item.commissions):
            found += _not_negative(f"interest_lists[{i}].commissions[{j}].value", charge.value)
        found += _conditions(f"interest_lists[{i}]", item.conditions)
    found += _names("insurances", [x.name for x in terms.insurances])
    for i, insurance in enumerate(terms.insurances):
        found += _not_negative(f"insurances[{i}].premium.value", insurance.premium.value)
        found += _conditions(f"insurances[{i}]", insurance.conditions)
    found += _names("discounts", [x.name for x in terms.discounts])
    for i, discount in enumerate(terms.discounts):
        found += _not_negative(f"discounts[{i}].rate_points", discount.rate_points)
        found += _not_negative(f"discounts[{i}].commission_percent", discount.commission_percent, percent=True)
        found += _conditions(f"discounts[{i}]", discount.conditions)
    return found + _attribute_kinds(terms)


def validate(terms: ProductTerms) -> None:
    found = violations(terms)
    if found:
        raise InvalidArgument("PRODUCT_INVALID", f"the product version has {len(found)} invalid field(s): "
                              f"{found[0].field}: {found[0].description}" + (", ..." if len(found) > 1 else ""),
                              violations=found)
