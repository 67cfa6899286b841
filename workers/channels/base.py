"""The one port every channel adapter implements: send a message, classify the answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from server.domain.engagement.entities import Channel
from server.domain.engagement.sending import SendOutcome

# The adapters speak the domain's words: which channel, and how a send ended.
ChannelKind = Channel
Outcome = SendOutcome


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: str
    # Stable across retries of one delivery: sent where the provider de-duplicates on it.
    idempotency_key: str
    kind: ChannelKind
    address: str
    content: Mapping[str, str]
    callback_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after_seconds: float | None = None


def sent(provider_message_id: str) -> SendResult:
    return SendResult(Outcome.SENT, provider_message_id)


def temporary(code: str, message: str, retry_after: float | None = None) -> SendResult:
    return SendResult(Outcome.TEMPORARY_FAILURE, error_code=code, error_message=message[:500],
                      retry_after_seconds=retry_after)


def permanent(code: str, message: str) -> SendResult:
    return SendResult(Outcome.PERMANENT_FAILURE, error_code=code, error_message=message[:500])


class ChannelSender(Protocol):
    provider: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ProviderConfig:
    kind: ChannelKind
    provider: str
    settings: Mapping[str, str]
    secrets: Mapping[str, str]

    def setting(self, name: str, default: str | None = None) -> str:
        value = self.settings.get(name) or default
        if value is None:
            raise ValueError(f"{self.provider}: setting '{name}' is required")
        return value

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if not value:
            raise ValueError(f"{self.provider}: secret '{name}' is required")
        return value
