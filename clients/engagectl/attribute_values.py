"""Attribute values typed on the command line as text, and shown as text: the definition's type says
which field of AttributeValue the text goes in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from clients.engagectl.dates import date_text
from engage.personas.v1 import personas_service_pb2 as pb
from engage.type.v1 import date_pb2


def value_from_text(definition: pb.AttributeDefinition, text: str) -> pb.AttributeValue:
    """`true`, `42`, `5000.50`, any text, one of an ENUM's values, `2024-01-31`; ValueError says what
    the attribute takes. The server checks again (ranges, ENUM values): this only picks the field."""
    kind = definition.type
    try:
        if kind == pb.ATTRIBUTE_TYPE_BOOL:
            if text.lower() not in ("true", "false"):
                raise ValueError
            return pb.AttributeValue(bool_value=text.lower() == "true")
        if kind == pb.ATTRIBUTE_TYPE_INT:
            return pb.AttributeValue(int_value=int(text))
        if kind == pb.ATTRIBUTE_TYPE_DECIMAL:
            if not Decimal(text).is_finite():
                raise ValueError
            return pb.AttributeValue(decimal_value=text)
        if kind == pb.ATTRIBUTE_TYPE_DATE:
            day = dt.date.fromisoformat(text)
            return pb.AttributeValue(date_value=date_pb2.Date(year=day.year, month=day.month, day=day.day))
        if kind in (pb.ATTRIBUTE_TYPE_STRING, pb.ATTRIBUTE_TYPE_ENUM):
            return pb.AttributeValue(string_value=text)
    except (ValueError, InvalidOperation):
        pass
    raise ValueError(f"{text!r} is not a {type_label(kind)} value")


def value_text(value: pb.AttributeValue) -> str:
    """A value as typed on the command line; empty when unset."""
    match value.WhichOneof("kind"):
        case "bool_value":
            return "true" if value.bool_value else "false"
        case "int_value":
            return str(value.int_value)
        case "decimal_value":
            return value.decimal_value
        case "string_value":
            return value.string_value
        case "date_value":
            return date_text(value.date_value)
    return ""


def type_label(kind: int) -> str:
    return pb.AttributeType.Name(kind).removeprefix("ATTRIBUTE_TYPE_")  # type: ignore[arg-type]
