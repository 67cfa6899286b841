"""The ChannelGateway the dispatch use case sends through: one sender per channel configuration (its
HTTP client reused across sends), rebuilt when the configuration changes."""

from __future__ import annotations

import time

from server.domain.engagement.entities import ChannelConfig, Delivery
from server.domain.engagement.sending import SendReport
from server.metrics import SEND_SECONDS, SENDS
from workers.channels import build_sender
from workers.channels.base import ChannelSender, OutgoingMessage, ProviderConfig
from workers.channels.egress import EgressPolicy


class ChannelSenders:
    def __init__(self, egress: EgressPolicy, timeout_seconds: float = 10.0) -> None:
        self._egress = egress
        self._timeout = timeout_seconds
        self._senders: dict[str, tuple[object, ChannelSender]] = {}

    async def send(self, delivery: Delivery, content: dict[str, str], config: ChannelConfig,
                   secrets: dict[str, str], callback_url: str | None) -> SendReport:
        sender = await self._sender(config, secrets)
        started = time.perf_counter()
        result = await sender.send(OutgoingMessage(
            delivery_id=delivery.delivery_id, idempotency_key=f"engage-{delivery.delivery_id}",
            kind=delivery.channel, address=delivery.address, content=content,
            callback_url=callback_url))
        channel, provider = str(delivery.channel), config.provider
        SEND_SECONDS.labels(channel, provider).observe(time.perf_counter() - started)
        SENDS.labels(channel, provider, result.outcome.name).inc()
        return SendReport(result.outcome, result.provider_message_id or "",
                          result.error_code or "", result.error_message or "", result.retry_after_seconds)

    async def _sender(self, config: ChannelConfig, secrets: dict[str, str]) -> ChannelSender:
        version = (config.updated_at, config.provider)
        cached = self._senders.get(config.config_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        if cached is not None:
            await cached[1].aclose()
        sender = build_sender(ProviderConfig(config.channel, config.provider, config.settings,
                                             secrets), egress=self._egress, timeout_seconds=self._timeout)
        self._senders[config.config_id] = (version, sender)
        return sender

    async def aclose(self) -> None:
        for _, sender in self._senders.values():
            await sender.aclose()
        self._senders.clear()
