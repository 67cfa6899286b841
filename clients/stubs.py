"""connect(address, token) -> typed grpc.aio stubs that send the token and a default deadline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engage.engagement.v1 import engagement_service_pb2_grpc
from engage.goals.v1 import goals_service_pb2_grpc
from engage.ingest.v1 import ingest_service_pb2_grpc
from engage.insights.v1 import insights_service_pb2_grpc
from engage.journeys.v1 import journeys_service_pb2_grpc
from engage.operations.v1 import operations_service_pb2_grpc
from engage.personas.v1 import personas_service_pb2_grpc
from engage.products.v1 import products_service_pb2_grpc
from engage.reporting.v1 import reporting_service_pb2_grpc
from engage.subscriptions.v1 import subscriptions_service_pb2_grpc
from engage.triggers.v1 import (
    bank_notifications_service_pb2_grpc,
    banners_service_pb2_grpc,
    offers_service_pb2_grpc,
    trigger_rules_service_pb2_grpc,
)

DEFAULT_DEADLINE_SECONDS = 30.0
# Streams may carry a whole import: they get a longer default.
DEFAULT_STREAM_DEADLINE_SECONDS = 3600.0


class _WithDefaults:
    """One method of a stub: each call sends the bearer token first and gets the default deadline
    unless it names its own."""

    def __init__(self, method: Any, metadata: tuple[tuple[str, str], ...], deadline: float) -> None:
        self._method = method
        self._metadata = metadata
        self._deadline = deadline

    def __call__(self, request: Any, *, timeout: float | None = None, metadata: Any = None, **options: Any) -> Any:
        return self._method(request, timeout=timeout or self._deadline,
                            metadata=self._metadata + tuple(metadata or ()), **options)


class _ChannelWithDefaults:
    """What the generated stubs are built on: the channel's methods, each wrapped in _WithDefaults.
    A client interceptor would do the same, but grpc.aio runs every intercepted call through an
    interceptor chain of its own (an extra task and call object per call)."""

    def __init__(self, channel: grpc.aio.Channel, token: str | None) -> None:
        self._channel = channel
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def unary_unary(self, *args: Any, **kwargs: Any) -> _WithDefaults:
        return _WithDefaults(self._channel.unary_unary(*args, **kwargs), self._metadata, DEFAULT_DEADLINE_SECONDS)

    def unary_stream(self, *args: Any, **kwargs: Any) -> _WithDefaults:
        return _WithDefaults(self._channel.unary_stream(*args, **kwargs), self._metadata,
                             DEFAULT_STREAM_DEADLINE_SECONDS)

    def stream_unary(self, *args: Any, **kwargs: Any) -> _WithDefaults:
        return _WithDefaults(self._channel.stream_unary(*args, **kwargs), self._metadata,
                             DEFAULT_STREAM_DEADLINE_SECONDS)

    def stream_stream(self, *args: Any, **kwargs: Any) -> _WithDefaults:
        return _WithDefaults(self._channel.stream_stream(*args, **kwargs), self._metadata,
                             DEFAULT_STREAM_DEADLINE_SECONDS)


class HealthStub(Protocol):
    """grpc.health.v1.Health as the aio stub serves it (typeshed's HealthStub declares no methods)."""

    Check: grpc.aio.UnaryUnaryMultiCallable[health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse]


@dataclass
class Stubs:
    channel: grpc.aio.Channel
    ingest: ingest_service_pb2_grpc.IngestServiceAsyncStub
    insights: insights_service_pb2_grpc.InsightsServiceAsyncStub
    subscriptions: subscriptions_service_pb2_grpc.SubscriptionsServiceAsyncStub
    engagement: engagement_service_pb2_grpc.EngagementServiceAsyncStub
    health: HealthStub
    operations: operations_service_pb2_grpc.OperationsServiceAsyncStub
    goals: goals_service_pb2_grpc.GoalsServiceAsyncStub
    personas: personas_service_pb2_grpc.PersonasServiceAsyncStub
    journeys: journeys_service_pb2_grpc.JourneysServiceAsyncStub
    products: products_service_pb2_grpc.ProductsServiceAsyncStub
    bank_notifications: bank_notifications_service_pb2_grpc.BankNotificationsServiceAsyncStub
    offers: offers_service_pb2_grpc.OffersServiceAsyncStub
    trigger_rules: trigger_rules_service_pb2_grpc.TriggerRulesServiceAsyncStub
    banners: banners_service_pb2_grpc.BannersServiceAsyncStub
    reporting: reporting_service_pb2_grpc.ReportingServiceAsyncStub

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> Stubs:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def connect(address: str, token: str | None = None, *, max_message_bytes: int = 64 * 1024 * 1024) -> Stubs:
    channel = grpc.aio.insecure_channel(
        address, options=[("grpc.max_receive_message_length", max_message_bytes),
                          ("grpc.max_send_message_length", max_message_bytes)])
    # The generated stubs only call the channel's four factory methods, which _ChannelWithDefaults has.
    with_defaults = cast(grpc.aio.Channel, _ChannelWithDefaults(channel, token))
    return Stubs(channel=channel, ingest=ingest_service_pb2_grpc.IngestServiceStub(with_defaults),
                 insights=insights_service_pb2_grpc.InsightsServiceStub(with_defaults),
                 subscriptions=subscriptions_service_pb2_grpc.SubscriptionsServiceStub(with_defaults),
                 engagement=engagement_service_pb2_grpc.EngagementServiceStub(with_defaults),
                 health=cast(HealthStub, health_pb2_grpc.HealthStub(with_defaults)),
                 operations=operations_service_pb2_grpc.OperationsServiceStub(with_defaults),
                 goals=goals_service_pb2_grpc.GoalsServiceStub(with_defaults),
                 personas=personas_service_pb2_grpc.PersonasServiceStub(with_defaults),
                 journeys=journeys_service_pb2_grpc.JourneysServiceStub(with_defaults),
                 bank_notifications=bank_notifications_service_pb2_grpc.BankNotificationsServiceStub(
                     with_defaults),
                 products=products_service_pb2_grpc.ProductsServiceStub(with_defaults),
                 offers=offers_service_pb2_grpc.OffersServiceStub(with_defaults),
                 trigger_rules=trigger_rules_service_pb2_grpc.TriggerRulesServiceStub(with_defaults),
                 banners=banners_service_pb2_grpc.BannersServiceStub(with_defaults),
                 reporting=reporting_service_pb2_grpc.ReportingServiceStub(with_defaults))
