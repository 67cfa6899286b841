"""Bank notifications: the inbox items trigger rules create for the bank's staff, and the signed webhook
each new item is POSTed to (docs/triggers.md, "Bank notifications").

The webhook's body is built once, when the item is created, and kept with its delivery: every attempt
sends the same bytes, so a bank that receives an item twice (its 2xx lost on the way back) sees the
same body under the same X-Engage-Delivery id. The signature is made per attempt, over a fresh
timestamp, so that the bank can refuse old replays by the timestamp alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import urlsplit

from server.domain.engagement.egress import EgressPolicy
from server.domain.engagement.retry_policy import RetryPolicy
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.reasons import Reason

MAX_NOTE = 500
MAX_ASSIGNEE = 200
MAX_URL = 2000
MIN_SECRET, MAX_SECRET = 32, 200
TIMESTAMP_HEADER = "X-Engage-Timestamp"
SIGNATURE_HEADER = "X-Engage-Signature"
DELIVERY_HEADER = "X-Engage-Delivery"
# Webhook attempts: the message deliveries' policy with twice their first wait, so that the default 8
# attempts span about an hour (30 s, 1, 2, 4, 8, 16, 32 min, plus jitter).
WEBHOOK_BASE_FACTOR = 2.0


class NotificationStatus(StrEnum):
    NEW = "NEW"
    ACKNOWLEDGED = "ACKNOWLEDGED"


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class NewBankNotification:
    """What the trigger runtime asks for: one inbox item per firing with a bank_notification action."""

    rule_id: str
    rule_version: int
    firing_id: str
    customer_id: str
    account_id: str  # "" when the firing named no account
    note: str
    values: Mapping[str, str] = field(default_factory=dict)  # the metric values the condition read


@dataclass(frozen=True)
class BankNotification:
    notification_id: str
    rule_id: str
    rule_version: int
    firing_id: str
    customer_id: str
    account_id: str
    note: str
    values: Mapping[str, str]
    status: NotificationStatus
    assignee: str
    acknowledged_by: str
    acknowledged_at: dt.datetime | None
    created_at: dt.datetime


def new_notification(notification_id: str, item: NewBankNotification, now: dt.datetime) -> BankNotification:
    return BankNotification(notification_id, item.rule_id, item.rule_version, item.firing_id, item.customer_id,
                            item.account_id, item.note[:MAX_NOTE], dict(item.values), NotificationStatus.NEW, "",
                            "", None, now)


def acknowledged(notification: BankNotification, by: str, now: dt.datetime) -> BankNotification:
    """Acknowledged by `by`; one already acknowledged keeps its first acknowledgement."""
    if notification.status is NotificationStatus.ACKNOWLEDGED:
        return notification
    return replace(notification, status=NotificationStatus.ACKNOWLEDGED, acknowledged_by=by, acknowledged_at=now)


def assigned(notification: BankNotification, assignee: str) -> BankNotification:
    return replace(notification, assignee=check_assignee(assignee))


def check_assignee(assignee: str) -> str:
    text = assignee.strip()
    if len(text) > MAX_ASSIGNEE or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidArgument(Reason.BANK_NOTIFICATION_INVALID,
                              f"assignee must be at most {MAX_ASSIGNEE} characters without control characters",
                              violations=[FieldViolation("assignee", f"at most {MAX_ASSIGNEE} printable characters")])
    return text


# -- the webhook ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookTarget:
    """A checked webhook URL: its host, and whether it was given as http (allowed only to networks the
    operator lists, as for the bank's own relays)."""

    url: str
    host: str
    plain_http: bool


def parse_webhook_url(url: str) -> WebhookTarget:
    """https://host[:port]/path (or http://); NOTIFICATION_WEBHOOK_INVALID otherwise. Whether the host may be
    reached is the egress policy's (`host_refusal`)."""
    problem = _url_problem(url)
    if problem is not None:
        raise InvalidArgument(Reason.NOTIFICATION_WEBHOOK_INVALID, f"url {problem}",
                              violations=[FieldViolation("url", problem)])
    parts = urlsplit(url)
    assert parts.hostname is not None  # _url_problem checked it
    return WebhookTarget(url, parts.hostname, parts.scheme == "http")


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (ValueError for a port out of range)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http"):
        return "must be an https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (the signature authenticates Engage)"
    if parts.fragment:
        return "must not have a fragment"
    return None


def host_refusal(policy: EgressPolicy, target: WebhookTarget, addresses: list[str]) -> InvalidArgument | None:
    """Why the workers may not POST to the target's addresses (None when they may, or when there is no
    address to judge: the workers check again when they connect). https needs an address the policy
    allows (public, or in a listed network); plain http one in a network the operator listed."""
    if not addresses:
        return None
    allowed = [a for a in addresses if (policy.lists(a) if target.plain_http else policy.allows(a))]
    if allowed:
        return None
    rule = ("http is allowed only to the networks the operator lists in ENGAGE_PROVIDER_NETWORKS_ALLOWED"
            if target.plain_http else
            "only public addresses are, and the networks the operator lists in ENGAGE_PROVIDER_NETWORKS_ALLOWED")
    return InvalidArgument(Reason.NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED,
                           f"{target.host} ({', '.join(addresses)}) is not an address the workers may POST to: {rule}",
                           violations=[FieldViolation("url", "a host the workers may reach")])


def check_secret(secret: str) -> str:
    if not MIN_SECRET <= len(secret) <= MAX_SECRET or any(ord(c) <= 32 or ord(c) == 127 for c in secret):
        raise InvalidArgument(Reason.NOTIFICATION_WEBHOOK_INVALID,
                              f"secret must be {MIN_SECRET} to {MAX_SECRET} printable characters without spaces",
                              violations=[FieldViolation("secret", f"{MIN_SECRET} to {MAX_SECRET} characters")])
    return secret


def webhook_body(notification: BankNotification) -> str:
    """The JSON the webhook receives (keys sorted, so the same item is always the same bytes)."""
    return json.dumps({
        "notification_id": notification.notification_id,
        "rule": {"id": notification.rule_id, "version": notification.rule_version},
        "firing_id": notification.firing_id,
        "customer_id": notification.customer_id,
        "account_id": notification.account_id,
        "note": notification.note,
        "values": dict(notification.values),
        "created_at": notification.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }, sort_keys=True, separators=(",", ":"))


def signature(secret: str, timestamp: int, body: str) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the webhook's secret over `{timestamp}.{body}`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, delivery_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, body), DELIVERY_HEADER: delivery_id}


def verify(secret: str, headers: Mapping[str, str], body: str) -> bool:
    """What a receiver does (for the docs' example and the tests): the signature matches the timestamp
    and body."""
    expected = signature(secret, int(headers[TIMESTAMP_HEADER]), body)
    return hmac.compare_digest(expected, headers[SIGNATURE_HEADER])


# -- attempts ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttemptOutcome:
    """What one POST came to: the endpoint's status (None when there was no answer) and the error."""

    http_status: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@dataclass(frozen=True)
class NextStep:
    status: WebhookDeliveryStatus
    next_attempt_at: dt.datetime | None


def after_attempt(policy: RetryPolicy, attempts_done: int, outcome: AttemptOutcome, now: dt.datetime,
                  rng: random.Random) -> NextStep:
    """DELIVERED on a 2xx; else PENDING with the next attempt's time, or FAILED after the last."""
    if outcome.delivered:
        return NextStep(WebhookDeliveryStatus.DELIVERED, None)
    if policy.is_exhausted(attempts_done):
        return NextStep(WebhookDeliveryStatus.FAILED, None)
    wait = policy.delay_before_try(attempts_done + 1, rng)
    return NextStep(WebhookDeliveryStatus.PENDING, now + dt.timedelta(seconds=wait))


def webhook_retry_policy(max_tries: int, delivery_base_seconds: float) -> RetryPolicy:
    return RetryPolicy(max_tries=max_tries, base_delay_seconds=delivery_base_seconds * WEBHOOK_BASE_FACTOR)
