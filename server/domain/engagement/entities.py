"""The Engagement context's objects as plain dataclasses: what the services work with and the store
persists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from server.domain.engagement.alerts import AlertCondition
from server.domain.engagement.audience import CampaignAudience
from server.domain.events import Money


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    PASS = "PASS"


class Platform(StrEnum):
    APPLE = "APPLE"
    ANDROID = "ANDROID"
    WINDOWS = "WINDOWS"
    WEB = "WEB"


class AppState(StrEnum):
    UNPUBLISHED = "UNPUBLISHED"
    PUBLISHED = "PUBLISHED"


class DeliveryState(StrEnum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    DEAD_LETTER = "DEAD_LETTER"
    SKIPPED = "SKIPPED"
    HELD = "HELD"  # a later step of a fallback chain, sent only if the earlier ones are not delivered


FINAL_DELIVERY_STATES = frozenset({DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.FAILED,
                                   DeliveryState.DEAD_LETTER, DeliveryState.SKIPPED})


class CampaignState(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


# Which provider serves which channel; push picks APNs for Apple devices and FCM for the others.
PROVIDERS_BY_CHANNEL: dict[Channel, frozenset[str]] = {
    Channel.EMAIL: frozenset({"smtp"}),
    Channel.SMS: frozenset({"twilio", "vonage", "clickatell"}),
    Channel.PUSH: frozenset({"fcm", "apns"}),
    Channel.PASS: frozenset({"apple_pass"}),
}


@dataclass
class App:
    app_id: str
    display_name: str
    category: str
    platforms: list[Platform]
    state: AppState
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class FallbackStep:
    channel: Channel
    wait: dt.timedelta | None = None  # None: the last step (nothing to wait for)


@dataclass(frozen=True)
class FallbackPolicy:
    """An event type's channels tried one after another (server.domain.engagement.fallback)."""

    steps: tuple[FallbackStep, ...] = ()

    def step_of(self, channel: Channel) -> int:
        """The 1-based position of the channel in the policy; 0 when it is not one of its steps."""
        for number, step in enumerate(self.steps, start=1):
            if step.channel is channel:
                return number
        return 0


class FallbackState(StrEnum):
    WAITING = "WAITING"  # a later step, its deliveries HELD
    CURRENT = "CURRENT"  # the step being tried
    DELIVERED = "DELIVERED"  # a DELIVERED receipt for it ended the chain
    TIMED_OUT = "TIMED_OUT"  # moved on: not delivered by the deadline
    FAILED = "FAILED"  # moved on: every delivery of the step failed
    SKIPPED = "SKIPPED"  # moved on at once: nowhere to send
    NOT_NEEDED = "NOT_NEEDED"  # never sent: an earlier step was delivered


@dataclass(frozen=True)
class FallbackMark:
    """A delivery's place in its trigger's fallback chain."""

    step: int  # 1-based position of its channel in the policy
    state: FallbackState
    wait_seconds: int  # how long this step waits for a DELIVERED receipt once started (0: the last)
    started_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    ended_at: dt.datetime | None = None


@dataclass
class EventType:
    event_type_id: str
    display_name: str
    description: str
    created_at: dt.datetime
    fallback: FallbackPolicy = field(default_factory=FallbackPolicy)


@dataclass
class Device:
    app_id: str
    platform: Platform
    push_token: str


@dataclass
class WalletPass:
    pass_type_identifier: str
    serial_number: str
    push_token: str


@dataclass
class QuietHoursSetting:
    start: str  # "HH:MM"
    end: str
    time_zone: str


@dataclass
class Preferences:
    opted_out_channels: list[Channel] = field(default_factory=list)
    opted_out_event_types: list[str] = field(default_factory=list)
    quiet_hours: QuietHoursSetting | None = None


@dataclass
class Contact:
    customer_id: str
    email: str = ""
    phone: str = ""
    devices: list[Device] = field(default_factory=list)
    passes: list[WalletPass] = field(default_factory=list)
    preferences: Preferences = field(default_factory=Preferences)
    updated_at: dt.datetime | None = None


@dataclass
class ChannelConfig:
    config_id: str
    display_name: str
    channel: Channel
    provider: str
    settings: dict[str, str]
    secret_keys: list[str]
    rate_limit_per_second: int
    created_at: dt.datetime
    updated_at: dt.datetime
    app_id: str = ""  # push only: the app whose pushes it sends; empty = the tenant-wide one
    cost_per_message: Money | None = None  # what one message sent costs; None: not configured


@dataclass(frozen=True)
class ChannelRoute:
    """What fan-out needs of a channel configuration: which one sends for a channel and provider."""

    config_id: str
    channel: Channel
    provider: str
    updated_at: dt.datetime
    app_id: str = ""


@dataclass(frozen=True)
class ContentVariant:
    """Content for the members of a persona (server.domain.engagement.persona_content)."""

    persona_id: str
    content: dict[str, str]


@dataclass
class Template:
    template_id: str
    display_name: str
    channel: Channel
    content: dict[str, str]  # the channel's parts: subject/html/text, title/body/image_url/rich_text, text, ...
    created_at: dt.datetime
    updated_at: dt.datetime
    variants: tuple[ContentVariant, ...] = ()


@dataclass
class EventMessage:
    channel: Channel
    template_id: str
    content: dict[str, str]
    variants: tuple[ContentVariant, ...] = ()


@dataclass
class Event:
    event_id: str
    display_name: str
    description: str
    owner: str
    event_type_id: str
    app_id: str
    message_class: str  # REGULAR | LEGAL (OTP messages are made by SendOtp, not stored events)
    messages: list[EventMessage]
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass
class Delivery:
    delivery_id: str
    trigger_key: str
    event_id: str
    campaign_id: str
    customer_id: str
    channel: Channel
    provider: str
    config_id: str
    address: str
    message_class: str
    content: dict[str, str]
    state: DeliveryState
    skip_reason: str
    attempts: int
    next_attempt_at: dt.datetime
    provider_message_id: str
    error_code: str
    error_message: str
    created_at: dt.datetime
    updated_at: dt.datetime
    sent_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    sealed_content: bytes | None = None
    fallback: FallbackMark | None = None  # a step of a fallback chain


@dataclass
class TransactionAlert:
    alert_id: str
    event_id: str
    condition: AlertCondition
    created_at: dt.datetime


@dataclass
class InsightNotification:
    notification_id: str
    insight_name: str
    event_id: str
    created_at: dt.datetime


@dataclass
class Campaign:
    campaign_id: str
    display_name: str
    event_id: str
    audience: CampaignAudience
    send_at: dt.datetime | None
    is_offer: bool
    state: CampaignState
    creator: str
    approver: str
    rejection_reason: str
    cursor: str
    customers_targeted: int
    deliveries_created: int
    created_at: dt.datetime
    updated_at: dt.datetime
