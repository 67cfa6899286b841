"""Campaign audiences and transaction alert conditions to and from their stored JSON: the only place that
knows its shape. The shape is the one the columns have always held (no migration): an audience is one of
{"all_customers": true}, {"customer_ids": [...]}, {"attributes": {...}}, {"persona": id},
{"audience": id}; a condition keeps every key,
with min_amount a decimal string, empty for none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from server.domain.engagement.alerts import AlertCondition
from server.domain.engagement.audience import CampaignAudience
from server.domain.engagement.baseline import Baseline

Json = dict[str, Any]


def audience_to_json(audience: CampaignAudience) -> Json:
    if audience.customer_ids:
        return {"customer_ids": list(audience.customer_ids)}
    if audience.attributes:
        return {"attributes": dict(audience.attributes)}
    if audience.persona_id:
        return {"persona": audience.persona_id}
    if audience.audience_id:
        return {"audience": audience.audience_id}
    return {"all_customers": audience.all_customers}


def audience_from_json(stored: Json) -> CampaignAudience:
    return CampaignAudience(all_customers=bool(stored.get("all_customers")),
                            customer_ids=tuple(stored.get("customer_ids") or ()),
                            attributes=tuple(sorted((stored.get("attributes") or {}).items())),
                            persona_id=stored.get("persona") or "", audience_id=stored.get("audience") or "")


def condition_to_json(condition: AlertCondition) -> Json:
    stored: Json = {"directions": list(condition.directions), "categories": list(condition.categories),
                    "description_contains": list(condition.description_contains), "operation": condition.operation,
                    "min_amount": "" if condition.min_amount is None else str(condition.min_amount),
                    "account_types": list(condition.account_types)}
    # Later criteria only when given: a condition without them keeps the shape the column always held.
    if condition.statuses:
        stored["statuses"] = list(condition.statuses)
    if condition.balance_below is not None:
        stored["balance_below"] = str(condition.balance_below)
    if condition.baseline is not None:
        stored["baseline"] = {"percentile": str(condition.baseline.percentile), "days": condition.baseline.days,
                              "min_history": condition.baseline.min_history}
    return stored


def condition_from_json(stored: Json) -> AlertCondition:
    min_amount = stored.get("min_amount")
    return AlertCondition(operation=stored.get("operation") or "",
                          directions=tuple(stored.get("directions") or ()),
                          categories=tuple(stored.get("categories") or ()),
                          description_contains=tuple(stored.get("description_contains") or ()),
                          min_amount=Decimal(str(min_amount)) if min_amount else None,
                          account_types=tuple(stored.get("account_types") or ()),
                          statuses=tuple(stored.get("statuses") or ()),
                          balance_below=Decimal(str(stored["balance_below"])) if stored.get("balance_below") else None,
                          baseline=None if not stored.get("baseline") else Baseline(
                              Decimal(str(stored["baseline"]["percentile"])), int(stored["baseline"]["days"]),
                              int(stored["baseline"]["min_history"])))
