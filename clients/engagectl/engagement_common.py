"""Shared by the engagement command groups: resource names, KEY=VALUE options, output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from google.protobuf.message import Message

from clients.engagectl.context import CliContext
from clients.engagectl.output import as_dict, emit_json, emit_table
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


def channel(value: str, option: str = "--channel") -> int:
    try:
        return pb.Channel.Value(f"CHANNEL_{value.upper()}")
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is none of EMAIL, SMS, PUSH, PASS", param_hint=option) from exc


def channel_name(number: int) -> str:
    return pb.Channel.Name(number).removeprefix("CHANNEL_")


def show(cli: CliContext, title: str, columns: list[str], items: Sequence[Message],
         row: Any) -> None:
    if cli.json_output:
        emit_json([as_dict(i) for i in items])
        return
    emit_table(title, columns, [row(i) for i in items])


def show_one(cli: CliContext, title: str, item: Message, columns: list[str], row: Any) -> None:
    if cli.json_output:
        emit_json(as_dict(item))
        return
    emit_table(title, columns, [row(item)])


def time_of(stamp: Any) -> str:
    return stamp.ToDatetime().isoformat(timespec="seconds") if stamp.seconds else ""
