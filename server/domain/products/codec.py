"""ProductTerms <-> plain JSON values: the form a store keeps a version's terms in (one JSON column) and a
product file is written in. Decimals travel as strings, so nothing is lost to floats.

    {"currency": "EUR",
     "amount_limits": {"low": "5000", "high": "50000"},            # ends closed unless *_closed: false
     "term_limits": {"low": "6", "high": "84"},                     # an absent end is unbounded
     "availability": [{"name": "Globetrotters", "conditions": [{"kind": "persona", "persona": "globetrotter"}]}],
     "interest_lists": [{"name": "...", "annual_rate": "5.3", "priority": 0, "commissions": [],
                         "conditions": [{"kind": "number", "attribute": "monthly_income",
                                         "interval": {"low": "5000", "low_closed": false}},
                                        {"kind": "amount", "interval": {"low": "10000", "low_closed": false}}]}],
     "insurances": [{"name": "life insurance", "conditions": [...],
                     "premium": {"name": "life insurance", "basis": "PERCENT_OF_AMOUNT", "value": "0.05",
                                 "frequency": "MONTHLY"}}],
     "discounts": [{"name": "...", "conditions": [...], "rate_points": "0.5", "commission_percent": "0"}]}

Condition kinds: persona (persona, member: true), number (attribute, interval), value (attribute,
values: a list of strings or of bools), amount (interval), term (interval). Anything else, a missing
key or a value of the wrong type is PRODUCT_INVALID naming the path; the decoded terms are then
validated (validation.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.products.conditions import AmountIn, Condition, InPersona, NumberIn, Rule, TermIn, ValueIn
from server.domain.products.intervals import Interval
from server.domain.products.pricing import Charge, ChargeBasis, ChargeFrequency, Discount, InsuranceItem, InterestList
from server.domain.products.terms import ProductTerms
from server.domain.products.validation import validate

Json = Any  # a value json.loads gives
T = TypeVar("T")


class _Bad(Exception):
    def __init__(self, path: str, description: str) -> None:
        super().__init__(path, description)
        self.violation = FieldViolation(path, description)


# -- encoding -------------------------------------------------------------------------------------
def _interval_json(interval: Interval) -> dict[str, Json]:
    out: dict[str, Json] = {}
    if interval.low is not None:
        out |= {"low": str(interval.low), "low_closed": interval.low_closed}
    if interval.high is not None:
        out |= {"high": str(interval.high), "high_closed": interval.high_closed}
    return out


def _condition_json(condition: Condition) -> dict[str, Json]:
    if isinstance(condition, InPersona):
        return {"kind": "persona", "persona": condition.persona_id, "member": condition.member}
    if isinstance(condition, NumberIn):
        return {"kind": "number", "attribute": condition.attribute, "interval": _interval_json(condition.interval)}
    if isinstance(condition, ValueIn):
        return {"kind": "value", "attribute": condition.attribute,
                "values": sorted(condition.values, key=lambda v: (str(type(v)), str(v)))}
    kind = "amount" if isinstance(condition, AmountIn) else "term"
    return {"kind": kind, "interval": _interval_json(condition.interval)}


def _conditions_json(conditions: tuple[Condition, ...]) -> list[Json]:
    return [_condition_json(c) for c in conditions]


def _charge_json(charge: Charge) -> dict[str, Json]:
    return {"name": charge.name, "basis": charge.basis.value, "value": str(charge.value),
            "frequency": charge.frequency.value}


def terms_to_json(terms: ProductTerms) -> dict[str, Json]:
    return {
        "currency": terms.currency,
        "amount_limits": _interval_json(terms.amount_limits),
        "term_limits": _interval_json(terms.term_limits),
        "availability": [{"name": r.name, "conditions": _conditions_json(r.conditions)} for r in terms.availability],
        "interest_lists": [{"name": x.name, "annual_rate": str(x.annual_rate), "priority": x.priority,
                            "commissions": [_charge_json(c) for c in x.commissions],
                            "conditions": _conditions_json(x.conditions)} for x in terms.interest_lists],
        "insurances": [{"name": x.name, "premium": _charge_json(x.premium),
                        "conditions": _conditions_json(x.conditions)} for x in terms.insurances],
        "discounts": [{"name": x.name, "rate_points": str(x.rate_points),
                       "commission_percent": str(x.commission_percent), "conditions": _conditions_json(x.conditions)}
                      for x in terms.discounts],
    }


# -- decoding -------------------------------------------------------------------------------------
def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _get(value: Json, key: str, path: str, kind: type[T], default: T | None = None) -> T:
    if not isinstance(value, dict):
        raise _Bad(path, "expected an object")
    if key not in value:
        if default is None:
            raise _Bad(_join(path, key), "required")
        return default
    found = value[key]
    # bool is an int in Python: a priority of true is not a number here.
    if not isinstance(found, kind) or (kind is int and isinstance(found, bool)):
        raise _Bad(_join(path, key), f"expected {kind.__name__}")
    return found


def _decimal(value: Json, key: str, path: str, default: str | None = None) -> Decimal:
    text = _get(value, key, path, str, default)
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise _Bad(_join(path, key), f"'{text}' is not a decimal number")
    return number


def _interval(value: Json, path: str) -> Interval:
    if not isinstance(value, dict):
        raise _Bad(path, "expected an object")
    low = _decimal(value, "low", path) if "low" in value else None
    high = _decimal(value, "high", path) if "high" in value else None
    closed = _get(value, "low_closed", path, bool, True), _get(value, "high_closed", path, bool, True)
    return Interval(low, high, *closed)


def _condition(value: Json, path: str) -> Condition:
    kind = _get(value, "kind", path, str)
    if kind not in ("persona", "number", "value", "amount", "term"):
        raise _Bad(f"{path}.kind", f"'{kind}' is not one of persona, number, value, amount, term")
    if kind == "persona":
        return InPersona(_get(value, "persona", path, str), _get(value, "member", path, bool, True))
    if kind in ("amount", "term"):
        interval = _interval(_get(value, "interval", path, dict), f"{path}.interval")
        return AmountIn(interval) if kind == "amount" else TermIn(interval)
    attribute = _get(value, "attribute", path, str)
    if kind == "number":
        return NumberIn(attribute, _interval(_get(value, "interval", path, dict), f"{path}.interval"))
    values = _get(value, "values", path, list)
    if not all(isinstance(v, (str, bool)) for v in values):
        raise _Bad(f"{path}.values", "expected strings or bools")
    return ValueIn(attribute, frozenset(values))


def _items(value: Json, key: str, path: str, decode: Callable[[Json, str], T]) -> tuple[T, ...]:
    return tuple(decode(item, f"{_join(path, key)}[{i}]") for i, item in enumerate(_get(value, key, path, list, [])))


def _conditions(value: Json, path: str) -> tuple[Condition, ...]:
    return _items(value, "conditions", path, _condition)


def _charge(value: Json, path: str) -> Charge:
    try:
        basis = ChargeBasis(_get(value, "basis", path, str))
        frequency = ChargeFrequency(_get(value, "frequency", path, str, ChargeFrequency.ONE_OFF.value))
    except ValueError as exc:
        raise _Bad(path, f"basis is FIXED or PERCENT_OF_AMOUNT, frequency ONE_OFF or MONTHLY ({exc})") from exc
    return Charge(_get(value, "name", path, str), basis, _decimal(value, "value", path), frequency)


def _interest_list(value: Json, path: str) -> InterestList:
    return InterestList(_get(value, "name", path, str), _decimal(value, "annual_rate", path),
                        _items(value, "commissions", path, _charge), _conditions(value, path),
                        _get(value, "priority", path, int, 0))


def _insurance(value: Json, path: str) -> InsuranceItem:
    return InsuranceItem(_get(value, "name", path, str), _charge(_get(value, "premium", path, dict), f"{path}.premium"),
                         _conditions(value, path))


def _discount(value: Json, path: str) -> Discount:
    return Discount(_get(value, "name", path, str), _conditions(value, path),
                    _decimal(value, "rate_points", path, "0"), _decimal(value, "commission_percent", path, "0"))


def _rule(value: Json, path: str) -> Rule:
    return Rule(_get(value, "name", path, str), _conditions(value, path))


def terms_from_json(value: Json) -> ProductTerms:
    """Decodes and validates; PRODUCT_INVALID names the first malformed path, or every invalid field."""
    try:
        terms = ProductTerms(
            _get(value, "currency", "", str),
            _interval(_get(value, "amount_limits", "", dict), "amount_limits"),
            _interval(_get(value, "term_limits", "", dict), "term_limits"),
            _items(value, "availability", "", _rule),
            _items(value, "interest_lists", "", _interest_list),
            _items(value, "insurances", "", _insurance),
            _items(value, "discounts", "", _discount),
        )
    except _Bad as bad:
        raise InvalidArgument("PRODUCT_INVALID", f"{bad.violation.field}: {bad.violation.description}",
                              violations=[bad.violation]) from None
    validate(terms)
    return terms
