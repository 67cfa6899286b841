"""Requests of any shape for any RPC: each field set or left out at random, from values chosen to break
things (empty, NUL, very long, out-of-range numbers and timestamps, unknown enum numbers, names of other
collections). Seeded, so a failure can be replayed."""

from __future__ import annotations

import random
from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import Message

FieldType = descriptor.FieldDescriptor

STRINGS = ["", " ", "x", "\x00", "a\x00b", "éé", "😀", "x" * 3000, "-1", "0", "1e309", "NaN", "Infinity",
           "99999999999999999999.999", "0.001", "12.5", "events/", "events/x", "apps/x", "templates/x",
           "channelConfigs/x", "campaigns/x", "deliveries/x", "otps/x", "customers/x", "accounts/x", "feed/x",
           "' OR 1=1 --", "2026-13-45", "2026-02-29", "1900-01-01", "9999-12-31T23:59:59Z", "{{ x }}",
           "{% for a in data.x %}{% for b in data.x %}{% endfor %}{% endfor %}", "+420601234567", "a@b.c",
           "CZK", "XXX", "usd", "ATM_WITHDRAWAL", "DEBIT", "CREDIT", "*", "%", "_", "../../etc/passwd"]
_INTS = [0, -1, 1, 1000, 2**31 - 1, -2**31]
# Dates and instants at the edges of what their types allow (and just past them), where calendar
# arithmetic breaks: (year, month, day) and (seconds, nanos).
_DATES = [(1, 1, 1), (1, 2, 1), (1899, 12, 31), (1900, 1, 1), (2024, 2, 29), (2023, 2, 29), (9999, 12, 31),
          (10000, 1, 1), (2026, 13, 1), (0, 0, 0)]
_INSTANTS = [(-62_135_596_800, 0), (253_402_300_799, 999_999_999), (0, 0), (1_796_040_000, 0),
             (253_402_300_800, 0), (0, -1)]
_LONGS = [0, -1, 1, 1000, 2**63 - 1, -2**63]
_UNSIGNED = [0, 1, 2**32 - 1]


def random_message(message_class: type[Message], rng: random.Random, strings: list[str]) -> Message:
    message = message_class()
    _fill(message, rng, strings, depth=0)
    return message


def _fill(message: Message, rng: random.Random, strings: list[str], depth: int) -> None:
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.35:
            continue
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            entry = field.message_type.fields_by_name
            key_field, value_field = entry["key"], entry["value"]
            for _ in range(rng.randint(0, 3)):
                key = _scalar(key_field, rng, strings)
                if value_field.message_type is None:
                    value[key] = _scalar(value_field, rng, strings)
                elif depth < 3:
                    _fill(value[key], rng, strings, depth + 1)
        elif field.is_repeated:
            for _ in range(rng.randint(0, 3)):
                if field.message_type is None:
                    value.append(_scalar(field, rng, strings))
                elif depth < 3:
                    _fill(value.add(), rng, strings, depth + 1)
        elif field.message_type is not None and field.message_type.full_name == "engage.type.v1.Date":
            value.year, value.month, value.day = rng.choice(_DATES)
        elif field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
            value.seconds, value.nanos = rng.choice(_INSTANTS)
        elif field.message_type is not None:
            if depth < 3:
                value.SetInParent()
                _fill(value, rng, strings, depth + 1)
        else:
            setattr(message, field.name, _scalar(field, rng, strings))


def _scalar(field: descriptor.FieldDescriptor, rng: random.Random, strings: list[str]) -> Any:
    kind = field.type
    if kind == FieldType.TYPE_STRING:
        return rng.choice(strings)
    if kind == FieldType.TYPE_BYTES:
        return rng.choice([b"", b"\x00\xff", b"x" * 100])
    if kind == FieldType.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == FieldType.TYPE_ENUM:
        return rng.choice([*(v.number for v in field.enum_type.values), 99])
    if kind in (FieldType.TYPE_DOUBLE, FieldType.TYPE_FLOAT):
        return rng.choice([0.0, -1.0, 1e308, float("nan"), 0.5])
    if kind in (FieldType.TYPE_INT32, FieldType.TYPE_SINT32, FieldType.TYPE_SFIXED32):
        return rng.choice(_INTS)
    if kind in (FieldType.TYPE_UINT32, FieldType.TYPE_FIXED32, FieldType.TYPE_UINT64, FieldType.TYPE_FIXED64):
        return rng.choice(_UNSIGNED)
    return rng.choice(_LONGS)
