from __future__ import annotations

from decimal import Decimal

from engage.type.v1 import money_pb2
from server.domain.money import decimal_to_units_nanos, units_nanos_to_decimal


def money(amount: Decimal | str, currency: str) -> money_pb2.Money:
    units, nanos = decimal_to_units_nanos(Decimal(amount))
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def show_money(value: money_pb2.Money, places: int = 2) -> str:
    return f"{units_nanos_to_decimal(value.units, value.nanos):,.{places}f} {value.currency_code}"
