"""Attribute definitions as a bank admin writes them, a customer's typed values, and personas: the
checks each gets before it is stored. The language and its evaluation are server.domain.segments."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.reasons import Reason
from server.domain.segments.attributes import (
    BUILT_IN_ATTRIBUTES,
    AttributeDefinition,
    AttributeType,
    AttributeValue,
    value_to_text,
)

MAX_DESCRIPTION = 2000
MAX_STRING_VALUE = 1000  # the column's size
MAX_DISPLAY_NAME = 200
PERSONA_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
BUILT_IN_NAMES = frozenset(d.name for d in BUILT_IN_ATTRIBUTES)


@dataclass(frozen=True)
class StoredDefinition:
    definition: AttributeDefinition
    created_at: dt.datetime | None = None  # None for a built-in attribute
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Persona:
    persona_id: str
    display_name: str
    description: str
    expression: str  # canonical text (render of the parsed expression)
    created_at: dt.datetime
    updated_at: dt.datetime
    # Read by templates as {{ persona.<persona_id>.<token> }} for the persona's members.
    tokens: dict[str, str] = field(default_factory=dict)
    # False while the whole evaluation after a create or a change of what selects the members is pending:
    # the kept members (persona_members) still lag the expression. Derived from the stored revisions.
    members_current: bool = True


def _invalid(reason: Reason, field: str, message: str, **metadata: str) -> InvalidArgument:
    return InvalidArgument(reason, message, violations=[FieldViolation(field, message)], metadata=dict(metadata))


def new_definition(name: str, type_: AttributeType, values: tuple[str, ...], default: AttributeValue | None,
                   description: str, field: str = "attribute_definition") -> AttributeDefinition:
    """A custom attribute's definition, or ATTRIBUTE_DEFINITION_INVALID saying what is wrong."""
    if len(description) > MAX_DESCRIPTION:
        raise _invalid(Reason.ATTRIBUTE_DEFINITION_INVALID, f"{field}.description",
                       f"a description is at most {MAX_DESCRIPTION} characters")
    if any(len(v) > MAX_STRING_VALUE for v in values) or (
            isinstance(default, str) and len(default) > MAX_STRING_VALUE):
        raise _invalid(Reason.ATTRIBUTE_DEFINITION_INVALID, field, f"a value is at most {MAX_STRING_VALUE} characters")
    try:
        return AttributeDefinition(name, type_, values, default, description)
    except ValueError as error:
        raise _invalid(Reason.ATTRIBUTE_DEFINITION_INVALID, field, str(error)) from None


def changed_definition(before: AttributeDefinition, values: tuple[str, ...] | None, description: str | None,
                       *, change_default: bool = False, default: AttributeValue | None = None
                       ) -> AttributeDefinition:
    """`before` with the given parts replaced (values, description None: kept; the default only with
    `change_default`). ENUM values may be added, not removed: stored values and expressions name them."""
    if values is not None:
        removed = [v for v in before.values if v not in values]
        if removed:
            raise _invalid(Reason.ATTRIBUTE_DEFINITION_INVALID, "attribute_definition.enum_values",
                           f"ENUM values cannot be removed: {', '.join(removed[:5])}")
    return new_definition(before.name, before.type, before.values if values is None else values,
                          default if change_default else before.default,
                          before.description if description is None else description)


def check_value(definition: AttributeDefinition, value: AttributeValue, field: str) -> AttributeValue:
    """`value` when it is one of the attribute's, else ATTRIBUTE_VALUE_INVALID naming the attribute."""
    if not definition.accepts(value) or (isinstance(value, str) and len(value) > MAX_STRING_VALUE):
        shown = value_to_text(value)[:40]
        expected = f"one of {', '.join(definition.values)}" if definition.type is AttributeType.ENUM \
            else f"a {definition.type} value"
        raise _invalid(Reason.ATTRIBUTE_VALUE_INVALID, field,
                       f"{definition.name} is {definition.type}: {shown!r} is not {expected}",
                       attribute=definition.name)
    return value


def check_updates(definitions: Mapping[str, AttributeDefinition], values: Mapping[str, AttributeValue],
                  clear: list[str]) -> None:
    """The names an UpdateCustomerAttributes sets and clears are the tenant's own attributes, named once,
    and each value is of its attribute's type."""
    for name in [*values, *clear]:
        if name not in definitions:
            builtin = " (built in: derived by Engage)" if name in BUILT_IN_NAMES else ""
            raise _invalid(Reason.ATTRIBUTE_UNKNOWN, f"values[{name[:64]}]",
                           f"{name[:64]!r} is not a custom attribute of this bank{builtin}", attribute=name[:64])
    both = sorted(set(values) & set(clear))
    if both or len(set(clear)) != len(clear):
        raise _invalid(Reason.ATTRIBUTE_VALUE_INVALID, "clear", "an attribute is named twice",
                       attribute=(both or clear)[0])
    for name, value in values.items():
        check_value(definitions[name], value, f"values[{name}]")


def canonical(value: AttributeValue) -> AttributeValue:
    """One form per value: a DECIMAL without trailing zeros (5200.50 and the stored 5200.5000 are one
    value, and a change event must not see a change between them)."""
    if isinstance(value, Decimal):
        return Decimal(format(value.normalize(), "f"))
    return value


def check_persona(persona_id: str | None, display_name: str | None, description: str | None) -> None:
    if persona_id is not None and not PERSONA_ID.match(persona_id):
        raise _invalid(Reason.PERSONA_INVALID, "persona_id",
                       "a persona id is a lower-case letter, then up to 39 lower-case letters, digits or _")
    if display_name is not None and not (display_name.strip() and len(display_name) <= MAX_DISPLAY_NAME):
        raise _invalid(Reason.PERSONA_INVALID, "persona.display_name",
                       f"a display name is required, at most {MAX_DISPLAY_NAME} characters")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise _invalid(Reason.PERSONA_INVALID, "persona.description",
                       f"a description is at most {MAX_DESCRIPTION} characters")


MAX_TOKENS = 50
MAX_TOKEN_VALUE = 500


def check_tokens(tokens: Mapping[str, str]) -> None:
    """A persona's token values: named as persona ids, at most MAX_TOKENS of MAX_TOKEN_VALUE characters."""
    if len(tokens) > MAX_TOKENS:
        raise _invalid(Reason.PERSONA_INVALID, "persona.tokens", f"at most {MAX_TOKENS} tokens")
    for name, value in tokens.items():
        if not PERSONA_ID.match(name):
            raise _invalid(Reason.PERSONA_INVALID, f"persona.tokens[{name[:40]}]",
                           "a token's name is a lower-case letter, then up to 39 lower-case letters, digits or _")
        if len(value) > MAX_TOKEN_VALUE:
            raise _invalid(Reason.PERSONA_INVALID, f"persona.tokens[{name}]",
                           f"a token's value is at most {MAX_TOKEN_VALUE} characters")
