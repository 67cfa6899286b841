"""Transaction alert conditions to and from their stored JSON: the only place that knows its shape. The
shape is the one the column has always held (no migration): a condition keeps every key, with min_amount
a decimal string, empty for none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from server.domain.engagement.alerts import AlertCondition

Json = dict[str, Any]


def condition_to_json(condition: AlertCondition) -> Json:
    return {"directions": list(condition.directions), "categories": list(condition.categories),
            "description_contains": list(condition.description_contains), "operation": condition.operation,
            "min_amount": "" if condition.min_amount is None else str(condition.min_amount),
            "account_types": list(condition.account_types)}


def condition_from_json(stored: Json) -> AlertCondition:
    min_amount = stored.get("min_amount")
    return AlertCondition(operation=stored.get("operation") or "",
                          directions=tuple(stored.get("directions") or ()),
                          categories=tuple(stored.get("categories") or ()),
                          description_contains=tuple(stored.get("description_contains") or ()),
                          min_amount=Decimal(str(min_amount)) if min_amount else None,
                          account_types=tuple(stored.get("account_types") or ()))
