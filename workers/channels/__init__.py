"""Channel adapters: email (SMTP), SMS (Twilio, Vonage, Clickatell), push (FCM, APNs), wallet pass."""

from __future__ import annotations

from collections.abc import Callable

from workers.channels.base import ChannelSender, ProviderConfig
from workers.channels.egress import EgressPolicy
from workers.channels.email_smtp import SmtpSender
from workers.channels.push_apns import ApnsSender
from workers.channels.push_fcm import FcmSender
from workers.channels.sms_clickatell import ClickatellSender
from workers.channels.sms_twilio import TwilioSender
from workers.channels.sms_vonage import VonageSender
from workers.channels.wallet_pass import WalletPassSender

# Each adapter is built from its provider's settings, a timeout in seconds and the egress policy.
SENDERS: dict[str, Callable[[ProviderConfig, float, EgressPolicy], ChannelSender]] = {
    "smtp": SmtpSender, "twilio": TwilioSender, "vonage": VonageSender, "clickatell": ClickatellSender,
    "fcm": FcmSender, "apns": ApnsSender, "apple_pass": WalletPassSender}


def build_sender(config: ProviderConfig, *, egress: EgressPolicy, timeout_seconds: float = 10.0) -> ChannelSender:
    """`egress`: where the sender may connect (workers.channels.egress)."""
    sender = SENDERS.get(config.provider)
    if sender is None:
        raise ValueError(f"unknown provider '{config.provider}'; known: {', '.join(sorted(SENDERS))}")
    return sender(config, timeout_seconds, egress)
