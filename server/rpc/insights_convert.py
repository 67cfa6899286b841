"""engage.insights.v1 and engage.subscriptions.v1 messages <-> insight domain objects."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from engage.ingest.v1 import ingest_service_pb2 as ingest_pb
from engage.insights.v1 import insights_service_pb2 as pb
from engage.subscriptions.v1 import subscriptions_service_pb2 as subs_pb
from server.domain.insights.definition import EffectiveSubscription, InsightDefinition
from server.domain.insights.feed import FeedItem
from server.rpc.convert import money_to_proto, timestamp_to_proto

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

V = TypeVar("V", bound=int)


def _enum(enum_type: _EnumTypeWrapper[V], prefix: str, name: str | None) -> V:
    # 0 is every enum's *_UNSPECIFIED (AIP-126).
    return enum_type.Value(prefix + name) if name else cast(V, 0)


def definition_to_proto(definition: InsightDefinition) -> pb.InsightDefinition:
    return pb.InsightDefinition(
        name=f"insightDefinitions/{definition.name}", insight_name=definition.name, title=definition.title,
        description=definition.description,
        insight_type=_enum(pb.InsightType, "INSIGHT_TYPE_", definition.insight_type.value),
        trigger_type=_enum(pb.TriggerType, "TRIGGER_TYPE_", definition.trigger_type.value),
        containers=[_enum(ingest_pb.Container, "CONTAINER_", c.value) for c in definition.containers],
        applicable_entity=[_enum(pb.EntityType, "ENTITY_TYPE_", e.value) for e in definition.applicable_entity],
        frequency=_enum(pb.Frequency, "FREQUENCY_", definition.frequency.value),
        durations=[_enum(pb.Duration, "DURATION_", d.value) for d in definition.durations],
        default_duration=_enum(pb.Duration, "DURATION_",
                               definition.default_duration.value if definition.default_duration else None),
        thresholds=[pb.ThresholdDefinition(name=t.name, type=_enum(pb.ThresholdType, "THRESHOLD_TYPE_", t.type.value),
                                           minimum=str(t.minimum), maximum=str(t.maximum),
                                           default_value=str(t.default)) for t in definition.thresholds])


def _money(data: dict[str, str] | None) -> Any:
    return None if not data else money_to_proto(Decimal(data["amount"]), data["currency"])


def _link(data: dict[str, str] | None) -> pb.Link | None:
    return None if not data else pb.Link(entity_name=data["entityName"], url=data["url"])


def feed_item_to_proto(item: FeedItem) -> pb.FeedItem:
    content = item.payload
    snapshot = content.get("subscription") or {}
    message = pb.FeedItem(
        name=f"customers/{item.customer_id}/feedItems/{item.feed_item_id}", feed_item_id=item.feed_item_id,
        customer_id=item.customer_id, insight_name=item.insight_name, insight_title=content.get("insightTitle", ""),
        insight_type=_enum(pb.InsightType, "INSIGHT_TYPE_", content.get("insightType")),
        trigger_type=_enum(pb.TriggerType, "TRIGGER_TYPE_", content.get("triggerType")),
        create_time=timestamp_to_proto(item.created_at), expire_time=timestamp_to_proto(item.expires_at),
        period=item.period,
        subscription=pb.SubscriptionSnapshot(
            entity_type=_enum(pb.EntityType, "ENTITY_TYPE_", snapshot.get("entityType")),
            frequency=_enum(pb.Frequency, "FREQUENCY_", snapshot.get("frequency")),
            duration=_enum(pb.Duration, "DURATION_", snapshot.get("duration")),
            thresholds=[pb.ThresholdValue(name=t["name"], value=t["value"],
                                          type=_enum(pb.ThresholdType, "THRESHOLD_TYPE_", t["type"]))
                        for t in snapshot.get("threshold", [])]),
        accounts=[pb.BasicAccount(account_id=a["accountId"], provider_name=a["providerName"],
                                  account_name=a["accountName"],
                                  account_type=_enum(ingest_pb.AccountType, "ACCOUNT_TYPE_", a["accountType"]),
                                  container=_enum(ingest_pb.Container, "CONTAINER_", a["container"]),
                                  link=_link(a.get("link")))
                  for a in content.get("accounts", [])],
        suggested_actions=[pb.SuggestedAction(action_type=s["actionType"], amount=_money(s["amount"]),
                                              from_account_id=s["fromAccountId"], to_account_id=s["toAccountId"])
                           for s in content.get("suggestedActions", [])],
        change_values=[pb.ChangeValue(change_type=c["changeType"], change_amount=_money(c["changeAmount"]),
                                      change_percent=c["changePercent"]) for c in content.get("changeValue", [])],
        last_interaction=_enum(pb.InteractionType, "INTERACTION_TYPE_",
                               item.last_interaction.value if item.last_interaction else None))
    derived = content.get("accountDerived")
    if derived:
        message.account_derived.CopyFrom(pb.AccountDerived(
            total_available_balance=_money(derived["totalAvailableBalance"]),
            average_available_balance=_money(derived["averageAvailableBalance"])))
    transaction = content.get("transaction")
    if transaction:
        message.transaction.CopyFrom(pb.TransactionDerived(
            transaction_id=transaction["transactionId"], account_id=transaction["accountId"],
            amount=_money(transaction["amount"]), balance=_money(transaction["balance"]),
            direction=_enum(ingest_pb.Direction, "DIRECTION_", transaction["direction"])))
    return message


def _configuration(definition: InsightDefinition, effective: EffectiveSubscription) -> subs_pb.Configuration:
    configuration = subs_pb.Configuration(
        entity_type=definition.applicable_entity[0].value, is_subscribed=effective.is_subscribed,
        frequency=definition.frequency.value,
        threshold=[subs_pb.Threshold(name=t.name, type=t.type.value, value=str(effective.thresholds[t.name]))
                   for t in definition.thresholds])
    if effective.duration is not None:
        configuration.duration = effective.duration.value
    return configuration


def subscription_to_proto(definition: InsightDefinition, bank: EffectiveSubscription,
                          user: EffectiveSubscription | None = None) -> subs_pb.InsightSubscription:
    message = subs_pb.InsightSubscription(
        insight_name=definition.name, insight_title=bank.insight_title, insight_type=definition.insight_type.value,
        trigger_type=definition.trigger_type.value, containers=[c.value for c in definition.containers],
        description=definition.description, applicable_entity=[e.value for e in definition.applicable_entity],
        customer_configuration=[_configuration(definition, bank)],
        account_link_template=bank.account_link_template)
    if user is not None:
        message.user_configuration.append(_configuration(definition, user))
    return message
