"""Providers' delivery reports (callbacks) read into one shape. Twilio posts a form with MessageSid and
MessageStatus; Vonage posts a delivery receipt with messageId and status (JSON or query string);
Clickatell posts JSON with apiMessageId and status (or messageStatus codes). Twilio signs its
requests (X-Twilio-Signature), which is checked with the configuration's auth token. Push providers
report nothing: the app that got a push reports it, with the delivery id and the receipt URL the push
carried (FCM data / APNs payload `delivery_id` and `receipt_url`)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from server.domain.engagement.entities import DeliveryState
from server.domain.engagement.provider_codes import provider_code


@dataclass(frozen=True)
class DeliveryReceipt:
    provider: str
    provider_message_id: str
    status: str  # DELIVERED | FAILED
    error_code: str = ""
    error_message: str = ""
    # Push: the app names the message by the delivery id the push carried (its data's delivery_id), and
    # the receipt URL by its configuration; SMS providers name it by provider_message_id instead.
    delivery_id: str = ""
    config_id: str = ""


@dataclass(frozen=True)
class EarlyReceipt:
    """A report that named no message yet, kept until its message is recorded as sent."""

    tenant_id: str
    receipt_id: str
    receipt: DeliveryReceipt
    received_at: dt.datetime


_TWILIO = {"delivered": "DELIVERED", "undelivered": "FAILED", "failed": "FAILED"}
_VONAGE = {"delivered": "DELIVERED", "failed": "FAILED", "rejected": "FAILED", "expired": "FAILED"}
# Clickatell's message status names and codes (004 = received by recipient; 005-012 are failures).
_CLICKATELL = {"RECEIVED_BY_RECIPIENT": "DELIVERED", "004": "DELIVERED", "ERROR_DELIVERING": "FAILED",
               "005": "FAILED", "ROUTING_ERROR": "FAILED", "009": "FAILED", "ROUTE_ERROR": "FAILED",
               "EXPIRED": "FAILED", "010": "FAILED", "OUT_OF_CREDIT": "FAILED", "012": "FAILED",
               "CANCELLED": "FAILED", "006": "FAILED", "007": "FAILED"}


# A push app's report (channel fallback): {"delivery_id": ..., "status": "DELIVERED" | "FAILED"}.
_PUSH = {"DELIVERED": "DELIVERED", "FAILED": "FAILED"}


def parse_receipt(provider: str, fields: Mapping[str, object]) -> DeliveryReceipt | None:
    """None for reports that do not change a delivery (queued, sent, accepted, buffered ...)."""
    if provider in ("fcm", "apns"):
        status = _PUSH.get(str(fields.get("status", "")).upper())
        delivery_id = str(fields.get("delivery_id", ""))
        if status is None or not could_name_a_message(delivery_id):
            return None
        return DeliveryReceipt(provider, "", status, delivery_id=delivery_id)
    if provider == "twilio":
        status = _TWILIO.get(str(fields.get("MessageStatus", "")))
        message_id, code = str(fields.get("MessageSid", "")), str(fields.get("ErrorCode", "") or "")
    elif provider == "vonage":
        status = _VONAGE.get(str(fields.get("status", "")))
        message_id, code = str(fields.get("messageId", "")), str(fields.get("err-code", "") or "")
        code = "" if code == "0" else code
    elif provider == "clickatell":
        raw = str(fields.get("status") or fields.get("messageStatus") or fields.get("statusCode") or "")
        status = _CLICKATELL.get(raw.upper()) or _CLICKATELL.get(raw.zfill(3))
        message_id, code = str(fields.get("apiMessageId") or fields.get("messageId") or ""), ""
        code = raw if status == "FAILED" else ""
    else:
        return None
    if status is None or not message_id:
        return None
    return DeliveryReceipt(provider, message_id, status, provider_code(provider.upper(), code, status) if code else "",
                           str(fields.get("ErrorMessage") or fields.get("statusDescription") or ""))


def could_name_a_message(provider_message_id: str) -> bool:
    """Whether a reported id could be one a send recorded (those are at most 200 characters, without
    NUL): only such reports are worth keeping until their message is recorded."""
    return 0 < len(provider_message_id) <= 200 and "\x00" not in provider_message_id


def receipt_applies(current: DeliveryState, reported: DeliveryState) -> bool:
    """Whether a report of `reported` (DELIVERED | FAILED) changes a delivery now in `current`. Only
    sent messages have receipts. A handset's confirmation is final: a later FAILED for a DELIVERED
    message (a provider's duplicate, reports out of order) changes nothing; a DELIVERED after a FAILED
    report does (the later, more definite news)."""
    if current is DeliveryState.SENT:
        return True
    if current is DeliveryState.FAILED:
        return reported is DeliveryState.DELIVERED
    return False


def push_receipt_applies(current: DeliveryState, reported: DeliveryState) -> bool:
    """An app's report of a push (channel fallback): as receipt_applies, and a DELIVERED one also while
    the worker still waits on the provider's answer (SENDING), as a fast push's app can report: the app
    has the message in hand, whatever the provider then answers. The send's answer, recorded only for a
    delivery still SENDING, then leaves it DELIVERED."""
    return receipt_applies(current, reported) or (current is DeliveryState.SENDING
                                                  and reported is DeliveryState.DELIVERED)


def twilio_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """Twilio's scheme: HMAC-SHA1 over the full URL followed by each form key and value, keys sorted."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def twilio_signature_valid(auth_token: str, url: str, form: Mapping[str, str], signature: str) -> bool:
    return hmac.compare_digest(twilio_signature(auth_token, url, form), signature)
