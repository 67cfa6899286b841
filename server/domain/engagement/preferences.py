"""Whether a message goes to an address now, later (quiet hours) or not at all (opt-outs, nowhere to
send). One-time passwords are time-critical: they ignore opt-outs and quiet hours. Legally required
messages ignore opt-outs but wait for the end of quiet hours. Nothing goes to a missing address."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from server.domain.engagement.quiet_hours import QuietHours, quiet_until


class MessageClass(StrEnum):
    REGULAR = "REGULAR"
    OTP = "OTP"
    LEGAL = "LEGAL"


@dataclass(frozen=True)
class ChannelPreferences:
    opted_out_channels: frozenset[str] = frozenset()
    opted_out_event_types: frozenset[str] = frozenset()
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True)
class Decision:
    skip_reason: str = ""  # NO_ADDRESS | OPTED_OUT_CHANNEL | OPTED_OUT_EVENT_TYPE
    defer_until: dt.datetime | None = None

    @property
    def send_now(self) -> bool:
        return not self.skip_reason and self.defer_until is None


def decide(channel: str, event_type: str | None, message_class: MessageClass, preferences: ChannelPreferences,
           address: str | None, now_utc: dt.datetime) -> Decision:
    if not address:
        return Decision(skip_reason="NO_ADDRESS")
    if message_class is MessageClass.REGULAR:
        if channel in preferences.opted_out_channels:
            return Decision(skip_reason="OPTED_OUT_CHANNEL")
        if event_type and event_type in preferences.opted_out_event_types:
            return Decision(skip_reason="OPTED_OUT_EVENT_TYPE")
    if message_class is not MessageClass.OTP and preferences.quiet_hours is not None:
        until = quiet_until(now_utc, preferences.quiet_hours)
        if until is not None and until > now_utc:
            return Decision(defer_until=until)
    return Decision()
