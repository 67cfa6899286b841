"""connect(address, token) -> typed grpc.aio stubs that send the token and a default deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from engage.engagement.v1 import engagement_service_pb2_grpc
from engage.ingest.v1 import ingest_service_pb2_grpc
from engage.insights.v1 import insights_service_pb2_grpc
from engage.subscriptions.v1 import subscriptions_service_pb2_grpc

DEFAULT_DEADLINE_SECONDS = 30.0
# Streams may carry a whole import: they get a longer default.
DEFAULT_STREAM_DEADLINE_SECONDS = 3600.0


class _CallDefaults:
    """Adds the bearer token and a default deadline to every call."""

    def __init__(self, token: str | None) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def details(self, details: grpc.aio.ClientCallDetails, deadline: float) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*self._metadata)
        for key, value in details.metadata or ():
            metadata.add(key, value)
        return grpc.aio.ClientCallDetails(details.method, details.timeout or deadline, metadata,
                                          details.credentials, details.wait_for_ready)


# grpc.aio files an interceptor under the first call kind it implements, so one class per kind.
class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, defaults: _CallDefaults) -> None:
        self._defaults = defaults

    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(self._defaults.details(details, DEFAULT_DEADLINE_SECONDS), request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, defaults: _CallDefaults) -> None:
        self._defaults = defaults

    async def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(self._defaults.details(details, DEFAULT_STREAM_DEADLINE_SECONDS), request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, defaults: _CallDefaults) -> None:
        self._defaults = defaults

    async def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any,
                                     request_iterator: Any) -> Any:
        return await continuation(self._defaults.details(details, DEFAULT_STREAM_DEADLINE_SECONDS), request_iterator)


@dataclass
class Stubs:
    channel: grpc.aio.Channel
    ingest: ingest_service_pb2_grpc.IngestServiceStub
    insights: insights_service_pb2_grpc.InsightsServiceStub
    subscriptions: subscriptions_service_pb2_grpc.SubscriptionsServiceStub
    engagement: engagement_service_pb2_grpc.EngagementServiceStub
    health: health_pb2_grpc.HealthStub

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> Stubs:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def connect(address: str, token: str | None = None, *, max_message_bytes: int = 64 * 1024 * 1024) -> Stubs:
    defaults = _CallDefaults(token)
    channel = grpc.aio.insecure_channel(
        address, interceptors=[kind(defaults) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary)],
        options=[("grpc.max_receive_message_length", max_message_bytes),
                 ("grpc.max_send_message_length", max_message_bytes)])
    return Stubs(channel=channel, ingest=ingest_service_pb2_grpc.IngestServiceStub(channel),
                 insights=insights_service_pb2_grpc.InsightsServiceStub(channel),
                 subscriptions=subscriptions_service_pb2_grpc.SubscriptionsServiceStub(channel),
                 engagement=engagement_service_pb2_grpc.EngagementServiceStub(channel),
                 health=health_pb2_grpc.HealthStub(channel))
