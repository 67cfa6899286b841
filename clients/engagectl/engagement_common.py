"""Shared by the engagement command groups: resource names, KEY=VALUE options, channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from clients.engagectl.output import enum_label_of, enum_number
from engage.engagement.v1 import engagement_service_pb2 as pb


def name(collection: str, identifier: str) -> str:
    """Accepts `abc` or `apps/abc`; sends the resource name."""
    return identifier if identifier.startswith(f"{collection}/") else f"{collection}/{identifier}"


def short(resource_name: str) -> str:
    return resource_name.rpartition("/")[2]


def pairs(values: Sequence[str], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        found[key] = item
    return found


def channel(value: str, option: str = "--channel") -> pb.Channel.ValueType:
    try:
        return enum_number(pb.Channel, value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def channel_name(number: int) -> str:
    return enum_label_of(pb.Channel.DESCRIPTOR, number)


def label(enum_type: Any, number: int) -> str:
    """An enum value as every output spells it (`pb.DeliveryState`, 3 -> `SENT`)."""
    return enum_label_of(enum_type.DESCRIPTOR, number)


def time_of(stamp: Any) -> str:
    return stamp.ToDatetime().isoformat(timespec="seconds") if stamp.seconds else ""
