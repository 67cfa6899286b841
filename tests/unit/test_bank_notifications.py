"""The bank notifications' pure rules: the webhook body, its signature, which URLs and hosts a webhook
may have, and the retry schedule."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.engagement.egress import EgressPolicy
from server.domain.errors import InvalidArgument
from server.domain.triggers.notifications import (
    AttemptOutcome,
    NewBankNotification,
    NotificationStatus,
    WebhookDeliveryStatus,
    acknowledged,
    after_attempt,
    assigned,
    host_refusal,
    new_notification,
    parse_webhook_url,
    signature,
    signed_headers,
    verify,
    webhook_body,
    webhook_retry_policy,
)

NOW = dt.datetime(2026, 12, 3, 3, 50, tzinfo=dt.UTC)
ITEM = NewBankNotification("low_balance", 2, "f1", "c1", "c1-chk", "call them", {"balance": "-3.00"})


def test_the_body_is_the_items_json_the_same_bytes_each_time():
    notification = new_notification("n1", ITEM, NOW)
    body = webhook_body(notification)
    assert body == webhook_body(notification)
    assert json.loads(body) == {"notification_id": "n1", "rule": {"id": "low_balance", "version": 2},
                                "firing_id": "f1", "customer_id": "c1", "account_id": "c1-chk", "note": "call them",
                                "values": {"balance": "-3.00"}, "created_at": "2026-12-03T03:50:00Z"}


@given(secret=st.text(min_size=1), body=st.text(), timestamp=st.integers(min_value=0, max_value=2**40))
def test_the_signature_is_hmac_sha256_of_timestamp_dot_body(secret, body, timestamp):
    expected = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    assert signature(secret, timestamp, body) == f"sha256={expected}"


def test_signed_headers_verify_and_a_changed_body_or_secret_does_not():
    headers = signed_headers("k" * 32, "d1", '{"a":1}', NOW)
    assert headers["X-Engage-Timestamp"] == str(int(NOW.timestamp())) and headers["X-Engage-Delivery"] == "d1"
    assert verify("k" * 32, headers, '{"a":1}')
    assert not verify("k" * 32, headers, '{"a":2}') and not verify("j" * 32, headers, '{"a":1}')


def test_acknowledging_keeps_the_first_and_assignees_are_trimmed():
    first = acknowledged(new_notification("n1", ITEM, NOW), "ana", NOW)
    assert (first.status, first.acknowledged_by) == (NotificationStatus.ACKNOWLEDGED, "ana")
    assert acknowledged(first, "ben", NOW + dt.timedelta(hours=1)) == first
    assert assigned(first, "  Petra ").assignee == "Petra"
    with pytest.raises(InvalidArgument):
        assigned(first, "x" * 201)


@pytest.mark.parametrize("url", ["ftp://bank.example/x", "https://", "bank.example/x", "https://u:p@bank.example/",
                                 "https://bank.example/x#f", "https://bank.example:99999/", "https://bank .example/",
                                 "https://" + "a" * 2000 + ".example/"])
def test_webhook_urls_refused(url):
    with pytest.raises(InvalidArgument) as refused:
        parse_webhook_url(url)
    assert refused.value.code == "NOTIFICATION_WEBHOOK_INVALID"


@pytest.mark.parametrize(("url", "addresses", "allowed"), [
    ("https://bank.example/hook", ["93.184.216.34"], True),
    ("https://bank.example/hook", ["10.1.2.3"], False),            # private, not listed
    ("https://gw.bank/hook", ["192.168.0.1", "10.1.2.3"], False),  # every address refused
    ("https://gw.bank/hook", ["10.1.2.3", "93.184.216.34"], True),  # one allowed is enough
    ("https://127.0.0.1:8443/hook", ["127.0.0.1"], True),          # listed below
    ("http://127.0.0.1:8080/hook", ["127.0.0.1"], True),           # http: listed networks only
    ("http://bank.example/hook", ["93.184.216.34"], False),        # http to a public address: no
    ("https://bank.example/hook", [], True),                        # unresolved: the workers check later
])
def test_which_hosts_a_webhook_may_reach(url, addresses, allowed):
    policy = EgressPolicy.from_setting("127.0.0.0/8")
    refused = host_refusal(policy, parse_webhook_url(url), addresses)
    assert (refused is None) == allowed
    if refused is not None:
        assert refused.code == "NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED"


@given(seed=st.integers(), failures=st.integers(min_value=1, max_value=8))
def test_retries_back_off_and_stop_after_the_last_attempt(seed, failures):
    policy, rng = webhook_retry_policy(8, 15.0), random.Random(seed)
    step = after_attempt(policy, failures, AttemptOutcome(500, "HTTP 500"), NOW, rng)
    if failures == 8:
        assert step == (step.__class__(WebhookDeliveryStatus.FAILED, None))
    else:
        assert step.status is WebhookDeliveryStatus.PENDING and step.next_attempt_at is not None
        wait = (step.next_attempt_at - NOW).total_seconds()
        assert 30 * 2 ** (failures - 1) <= wait <= 30 * 2 ** (failures - 1) * 1.25
    assert after_attempt(policy, failures, AttemptOutcome(204), NOW, rng).status is WebhookDeliveryStatus.DELIVERED


def test_the_default_schedule_spans_about_an_hour():
    # 30 s + 1 + 2 + 4 + 8 + 16 + 32 min = 63.5 min before jitter.
    assert webhook_retry_policy(8, 15.0).minimum_total_wait() == 3810
