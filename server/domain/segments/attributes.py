"""The attribute catalogue that segment expressions are checked against: typed definitions of the
bank's custom attributes, the built-in derived ones, and the product kinds a customer can hold."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from server.domain.money import MAX_ABS_AMOUNT, STORAGE_SCALE

AttributeValue = bool | int | Decimal | str | dt.date

# An INT is a 64-bit integer in SQL; a DECIMAL is kept as Money is (whole ten-thousandths), so that
# every value and literal compares exactly on both databases.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
DECIMAL_PLACES = STORAGE_SCALE
MAX_ABS_DECIMAL = MAX_ABS_AMOUNT

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# The language's words, in any case: an attribute of one of these names could not be written.
RESERVED_WORDS = frozenset({"and", "or", "not", "in", "between", "is", "set", "true", "false", "date", "holds"})
MAX_ENUM_VALUES = 200


class AttributeType(enum.StrEnum):
    BOOL = "BOOL"
    INT = "INT"
    DECIMAL = "DECIMAL"
    STRING = "STRING"
    ENUM = "ENUM"
    DATE = "DATE"

    @property
    def ordered(self) -> bool:
        """Whether <, <=, >, >= and BETWEEN apply. Not to text: SQLite and PostgreSQL collate strings
        differently, so an order on them would select different customers in SQL and in memory."""
        return self in (AttributeType.INT, AttributeType.DECIMAL, AttributeType.DATE)


def decimal_fits(value: Decimal) -> bool:
    return (value.is_finite() and abs(value) <= MAX_ABS_DECIMAL
            and value == value.quantize(Decimal(1).scaleb(-DECIMAL_PLACES)))


@dataclass(frozen=True)
class AttributeDefinition:
    """One typed attribute of a customer. `default` stands in for a customer without a value of their
    own (None: no default, the attribute is then unset); `values` lists an ENUM's values."""

    name: str
    type: AttributeType
    values: tuple[str, ...] = ()
    default: AttributeValue | None = None
    description: str = ""
    derived: bool = False  # computed from ingested data, not set by the bank

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name) or self.name.lower() in RESERVED_WORDS:
            raise ValueError(f"attribute name {self.name!r} is not a letter then up to 63 letters, digits or _, "
                             "or is a word of the language")
        if self.type is AttributeType.ENUM:
            if not self.values or len(self.values) > MAX_ENUM_VALUES:
                raise ValueError(f"ENUM attribute {self.name} needs 1..{MAX_ENUM_VALUES} values")
            if len(set(self.values)) != len(self.values) or not all(v.strip() for v in self.values):
                raise ValueError(f"ENUM attribute {self.name} has a repeated or blank value")
        elif self.values:
            raise ValueError(f"attribute {self.name} is {self.type}: only an ENUM has values")
        if self.default is not None and not self.accepts(self.default):
            raise ValueError(f"default {self.default!r} is not a {self.type} value of {self.name}")

    def accepts(self, value: object) -> bool:
        """Whether `value` is a value of this attribute (bool is no INT; datetime is no DATE)."""
        match self.type:
            case AttributeType.BOOL:
                return isinstance(value, bool)
            case AttributeType.INT:
                return isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_MAX
            case AttributeType.DECIMAL:
                return isinstance(value, Decimal) and decimal_fits(value)
            case AttributeType.STRING:
                return isinstance(value, str)
            case AttributeType.ENUM:
                return isinstance(value, str) and value in self.values
            case AttributeType.DATE:
                return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _built_in(name: str, type_: AttributeType, description: str) -> AttributeDefinition:
    return AttributeDefinition(name, type_, description=description, derived=True)


# Derived from ingested data (unset where the data is missing, e.g. no birth date): the store computes
# them; an expression reads them as it reads the bank's own attributes.
BUILT_IN_ATTRIBUTES: tuple[AttributeDefinition, ...] = (
    _built_in("age", AttributeType.INT, "whole years since the customer's birth date"),
    _built_in("months_as_customer", AttributeType.INT, "whole months since the customer's first account opened"),
    _built_in("avg_monthly_salary", AttributeType.DECIMAL, "average salary credit per month over the last 6 months"),
    _built_in("avg_collected_balance", AttributeType.DECIMAL, "average end-of-day balance over the last 90 days"),
    _built_in("overdrafts_90d", AttributeType.INT, "days with a negative end-of-day balance in the last 90 days"),
)

# Product kinds for holds('…'): what a customer has, from their holdings and accounts.
HOLDING_KINDS: frozenset[str] = frozenset({
    "CARD", "LOAN", "OVERDRAFT_PROTECTION", "INSURANCE", "CHECKING", "SAVINGS", "INVESTMENT"})


@dataclass(frozen=True)
class AttributeCatalogue:
    """The attributes (by exact name) and holding kinds an expression may name."""

    attributes: Mapping[str, AttributeDefinition] = field(default_factory=lambda: MappingProxyType({}))
    holdings: frozenset[str] = HOLDING_KINDS

    @classmethod
    def of(cls, custom: Iterable[AttributeDefinition], holdings: Iterable[str] = HOLDING_KINDS,
           built_in: Iterable[AttributeDefinition] = BUILT_IN_ATTRIBUTES) -> AttributeCatalogue:
        """The built-in attributes and the bank's own; a custom one may not take a built-in's name."""
        attributes: dict[str, AttributeDefinition] = {}
        for definition in (*built_in, *custom):
            if definition.name in attributes:
                raise ValueError(f"attribute {definition.name} is defined twice")
            attributes[definition.name] = definition
        return cls(MappingProxyType(attributes), frozenset(holdings))

    def get(self, name: str) -> AttributeDefinition | None:
        return self.attributes.get(name)


_TEXT_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_TEXT_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def value_from_text(definition: AttributeDefinition, text: str) -> AttributeValue:
    """A value given as text (ingestion's attribute maps are strings) as a value of the attribute:
    `true`/`false`, `-12`, `5000.50`, any string, one of an ENUM's values, `2024-01-31`. ValueError,
    saying what was expected, for anything else."""
    match definition.type:
        case AttributeType.BOOL:
            if text in ("true", "false"):
                return text == "true"
        case AttributeType.INT:
            if _TEXT_NUMBER.match(text) and "." not in text and len(text.lstrip("-")) <= 19:
                number = int(text)
                if INT_MIN <= number <= INT_MAX:
                    return number
        case AttributeType.DECIMAL:
            if _TEXT_NUMBER.match(text) and decimal_fits(Decimal(text)):
                return Decimal(text)
        case AttributeType.STRING:
            return text
        case AttributeType.ENUM:
            if text in definition.values:
                return text
        case AttributeType.DATE:
            if _TEXT_DAY.match(text):
                try:
                    return dt.date.fromisoformat(text)
                except ValueError:
                    pass
    expected = {
        AttributeType.BOOL: "true or false", AttributeType.INT: "a whole number within 64 bits",
        AttributeType.DECIMAL: "a number with at most 4 decimal places", AttributeType.STRING: "text",
        AttributeType.ENUM: "one of " + ", ".join(definition.values), AttributeType.DATE: "a date YYYY-MM-DD",
    }[definition.type]
    raise ValueError(f"{definition.name} is {definition.type}: {text[:40]!r} is not {expected}")


def value_to_text(value: AttributeValue) -> str:
    """The text `value_from_text` reads back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
