"""What the delivery outbox is written with: a trigger and the deliveries planned for it (fan-out), and
a provider's final answer to one send (dispatch)."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.engagement.entities import Delivery, DeliveryState


@dataclass(frozen=True)
class RecordedTrigger:
    """A trigger to record with the deliveries planned for it."""

    trigger_key: str
    event_id: str
    customer_id: str
    deliveries: list[Delivery]


@dataclass(frozen=True)
class FinishedSend:
    """A provider's final answer to one send (SENT, or FAILED / DEAD_LETTER with the error)."""

    delivery_id: str
    state: DeliveryState
    provider_message_id: str = ""
    error_code: str = ""
    error_message: str = ""
