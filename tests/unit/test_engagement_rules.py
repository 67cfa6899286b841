"""The engagement domain's pure rules: SMS segments, tokens, quiet hours, preferences, OTP, retries,
alert conditions and set-up validation (examples and hypothesis properties)."""

import datetime as dt
import itertools
import math
import random
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.engagement import otp
from server.domain.engagement.alerts import alert_condition, matches
from server.domain.engagement.preferences import ChannelPreferences, MessageClass, decide
from server.domain.engagement.provider_codes import provider_code
from server.domain.engagement.quiet_hours import QuietHours, quiet_until
from server.domain.engagement.retry_policy import RetryPolicy
from server.domain.engagement.setup_validation import (
    validate_app,
    validate_channel_config,
    validate_event,
    validate_template,
)
from server.domain.engagement.sms import GSM_BASIC, sms_segments
from server.domain.engagement.templates import TemplateRenderError, find_tokens, render_parts, validate_parts
from server.domain.errors import InvalidArgument
from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.security.secret_box import SecretBox, SecretBoxError

UTC = dt.UTC


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("", "GSM_7", 0),
    ("a" * 160, "GSM_7", 1),
    ("a" * 161, "GSM_7", 2),
    ("a" * 306, "GSM_7", 2),
    ("a" * 307, "GSM_7", 3),
    ("€" * 80, "GSM_7", 1),  # extension characters take two septets
    ("€" * 81, "GSM_7", 2),
    ("a" * 152 + "€", "GSM_7", 1),
    ("a" * 152 + "€" + "a" * 8, "GSM_7", 2),  # the escape pair moves whole into the second part
    ("č" * 70, "UCS_2", 1),
    ("č" * 71, "UCS_2", 2),
    ("😀" * 35, "UCS_2", 1),  # surrogate pairs: two units each
    ("😀" * 36, "UCS_2", 2),
])
def test_sms_segments(text, encoding, segments):
    counted = sms_segments(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


@given(st.text(alphabet=sorted(GSM_BASIC - {"\x1b"}), max_size=1000))
def test_gsm_segments_hold_every_septet(text):
    counted = sms_segments(text)
    assert counted.encoding == "GSM_7"
    assert counted.segments * counted.per_segment >= len(text)
    assert counted.segments == (0 if not text else 1 if len(text) <= 160 else -(-len(text) // 153))


def test_tokens_are_checked_when_saved_and_filled_when_sent():
    assert find_tokens("{{ transaction.amount }} {% if data.x %}{{ customer.attributes.tier }}{% endif %}") == {
        "transaction.amount", "data.x", "customer.attributes.tier"}
    problems = validate_parts({"body": "{{ transaction.amout }}", "title": "{% include 'x' %}",
                               "text": "{{ bank.name | attr('x') }}", "subject": "{{ unclosed"})
    assert {p.field for p in problems} == {"body", "title", "text", "subject"}
    assert render_parts({"html": "<b>{{ data.x }}</b>", "text": "{{ data.x }}"}, {"data": {"x": "<i>"}}) == {
        "html": "<b>&lt;i&gt;</b>", "text": "<i>"}
    with pytest.raises(TemplateRenderError):
        render_parts({"text": "{{ data.missing }}"}, {"data": {}})


def test_the_sandbox_refuses_to_reach_python_internals():
    assert validate_parts({"text": "{{ data.__class__ }}"}) == []  # a data key, harmless: the sandbox decides
    with pytest.raises(TemplateRenderError):
        render_parts({"text": "{{ data.x.__class__.__mro__ }}"}, {"data": {"x": "s"}})


QUIET = QuietHours(dt.time(22), dt.time(7), "Europe/Prague")


def test_quiet_hours_across_midnight_and_dst():
    assert quiet_until(dt.datetime(2026, 6, 1, 12, tzinfo=UTC), QUIET) is None
    # 23:30 Prague summer time (UTC+2) -> 07:00 next morning = 05:00 UTC.
    assert quiet_until(dt.datetime(2026, 6, 1, 21, 30, tzinfo=UTC), QUIET) == dt.datetime(2026, 6, 2, 5, tzinfo=UTC)
    # The night the clocks go back (25 October 2026): 07:00 CET is 06:00 UTC.
    assert quiet_until(dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), QUIET) == dt.datetime(2026, 10, 25, 6,
                                                                                          tzinfo=UTC)
    new_york = QuietHours(dt.time(1, 30), dt.time(2, 30), "America/New_York")  # 02:30 does not exist on 8 March
    # 01:45 EST: quiet until the clocks jump from 02:00 EST to 03:00 EDT (07:00 UTC).
    assert quiet_until(dt.datetime(2026, 3, 8, 6, 45, tzinfo=UTC), new_york) == dt.datetime(2026, 3, 8, 7, tzinfo=UTC)


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(UTC)),
       st.times(), st.times(), st.sampled_from(["UTC", "Europe/Prague", "America/New_York", "Asia/Kolkata"]))
def test_quiet_until_is_after_now_and_within_a_day(now, start, end, zone):
    quiet = QuietHours(start.replace(microsecond=0), end.replace(microsecond=0), zone)
    until = quiet_until(now, quiet)
    if until is not None:
        assert now <= until <= now + dt.timedelta(hours=26)


def test_preferences_decide_skip_defer_and_otp_bypass():
    now = dt.datetime(2026, 6, 1, 21, 30, tzinfo=UTC)
    prefs = ChannelPreferences(frozenset({"EMAIL"}), frozenset({"marketing"}), QUIET)
    assert decide("EMAIL", None, MessageClass.REGULAR, prefs, "a@b.cz", now).skip_reason == "OPTED_OUT_CHANNEL"
    assert decide("SMS", "marketing", MessageClass.REGULAR, prefs, "+420601", now).skip_reason == \
        "OPTED_OUT_EVENT_TYPE"
    assert decide("SMS", None, MessageClass.REGULAR, prefs, "+420601", now).defer_until == \
        dt.datetime(2026, 6, 2, 5, tzinfo=UTC)
    assert decide("EMAIL", None, MessageClass.LEGAL, prefs, "a@b.cz", now).defer_until is not None
    assert decide("EMAIL", None, MessageClass.OTP, prefs, "a@b.cz", now).send_now
    assert decide("SMS", None, MessageClass.OTP, prefs, "", now).skip_reason == "NO_ADDRESS"


def test_otp_single_use_expiry_and_attempts():
    key, now = b"k" * 32, dt.datetime(2026, 1, 1, tzinfo=UTC)
    record = otp.OtpRecord("o1", otp.hash_code(key, "o1", "123456"), now + dt.timedelta(minutes=5), 0, 3, None)
    outcome, wrong = otp.verify(record, key, "000000", now)
    assert (outcome, wrong.attempts) == (otp.VerifyOutcome.WRONG_CODE, 1)
    outcome, used = otp.verify(wrong, key, "123456", now)
    assert outcome is otp.VerifyOutcome.VERIFIED
    assert otp.verify(used, key, "123456", now)[0] is otp.VerifyOutcome.ALREADY_USED
    assert otp.verify(record, key, "123456", now + dt.timedelta(minutes=6))[0] is otp.VerifyOutcome.EXPIRED
    locked = otp.OtpRecord("o1", record.code_hash, record.expires_at, 3, 3, None)
    assert otp.verify(locked, key, "123456", now)[0] is otp.VerifyOutcome.TOO_MANY_ATTEMPTS


@given(st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_only_the_right_code_verifies(code):
    key, now = b"secret", dt.datetime(2026, 1, 1, tzinfo=UTC)
    record = otp.OtpRecord("o", otp.hash_code(key, "o", "424242"), now + dt.timedelta(minutes=1), 0, 5, None)
    assert (otp.verify(record, key, code, now)[0] is otp.VerifyOutcome.VERIFIED) == (code == "424242")


@given(st.integers(min_value=0, max_value=2**32))
def test_default_retries_wait_at_least_thirty_minutes(seed):
    policy, rng = RetryPolicy(), random.Random(seed)
    waits = [policy.delay_before_try(n, rng) for n in range(2, policy.max_tries + 1)]
    assert sum(waits) >= 30 * 60
    assert all(later >= earlier / (1 + policy.jitter_fraction) for earlier, later in itertools.pairwise(waits))
    assert policy.is_exhausted(8) and not policy.is_exhausted(7)


@given(st.integers(min_value=2, max_value=40), st.integers(min_value=0, max_value=2**32),
       st.none() | st.floats(allow_nan=True, allow_infinity=True))
def test_a_providers_retry_after_lengthens_a_wait_up_to_the_cap_only(try_number, seed, provider_wait):
    policy = RetryPolicy()
    backoff = policy.delay_before_try(try_number, random.Random(seed))
    wait = policy.delay_after_failure(try_number, random.Random(seed), provider_wait)
    assert math.isfinite(wait) and backoff <= wait <= max(backoff, policy.max_delay_seconds)
    if provider_wait is not None and backoff <= provider_wait <= policy.max_delay_seconds:
        assert wait == provider_wait


@given(st.text() | st.integers() | st.floats() | st.booleans() | st.none() | st.lists(st.text()),
       st.sampled_from([400, "FAILED", "BAD_RESPONSE"]))
def test_a_providers_code_enters_ours_only_as_a_short_token(code, fallback):
    ours = provider_code("TWILIO", code, fallback)
    assert re.fullmatch(r"TWILIO_[A-Za-z0-9_.-]{1,40}", ours) and len(ours) <= 64
    assert ours == f"TWILIO_{code}" or ours == f"TWILIO_{fallback}"


def _posting(direction: str, category: str, description: str, amount: Decimal, account_type: str,
             currency: str) -> Posting:
    signed = amount if direction == "CREDIT" else -amount
    return Posting("t1", "a1", "c1", account_type, "BANK", Money(signed, currency), Money(Decimal("1000"), currency),
                   dt.datetime(2024, 5, 1, tzinfo=dt.UTC), Direction(direction), category, description)


def test_alert_conditions_and_presets():
    atm = alert_condition(operation="ATM_WITHDRAWAL", min_amount="100").effective()
    withdrawal = _posting("DEBIT", "CASH_WITHDRAWAL", "Cash withdrawal", Decimal("2500"), "CHECKING", "CZK")
    assert matches(atm, withdrawal)
    assert not matches(atm, _posting("DEBIT", "VYBER", "", Decimal("99.99"), "CHECKING", "CZK"))
    assert not matches(atm, _posting("CREDIT", "VKLAD", "", Decimal("500"), "CHECKING", "CZK"))
    online = alert_condition(directions=["CREDIT"], description_contains=["online"]).effective()
    assert matches(online, _posting("CREDIT", "", "Online deposit", Decimal("1"), "SAVINGS", "EUR"))
    with pytest.raises(InvalidArgument) as caught:
        alert_condition(directions=["SIDEWAYS"], min_amount="-1", operation="TELEPORT")
    assert caught.value.code == "TRANSACTION_ALERT_INVALID"
    assert {v.field for v in caught.value.violations} == {"transaction_alert.directions",
                                                          "transaction_alert.min_amount",
                                                          "transaction_alert.operation"}


@pytest.mark.parametrize(("call", "code"), [
    (lambda: validate_app("", "BANKING", ["WEB"]), "APP_NAME_REQUIRED"),
    (lambda: validate_app("x" * 101, "BANKING", ["WEB"]), "APP_NAME_INVALID"),
    (lambda: validate_app("Yes Bank", "GAMES", ["WEB"]), "APP_CATEGORY_INVALID"),
    (lambda: validate_app("Yes Bank", "BANKING", []), "APP_PLATFORM_REQUIRED"),
    (lambda: validate_app("Yes Bank", "BANKING", ["WEB", "WEB"]), "APP_PLATFORM_REQUIRED"),
    (lambda: validate_event("", "d", "t"), "EVENT_NAME_REQUIRED"),
    (lambda: validate_event("n", " ", "t"), "EVENT_DESCRIPTION_REQUIRED"),
    (lambda: validate_event("n", "d", ""), "EVENT_TYPE_REQUIRED"),
    (lambda: validate_template("PUSH", {"title": "t"}, "template.content"), "TEMPLATE_INVALID"),
    (lambda: validate_template("PUSH", {"title": "t", "body": "b", "image_url": "http://x/y.png",
                                        "rich_text": "r"}, "template.content"), "TEMPLATE_INVALID"),
    (lambda: validate_template("SMS", {"text": "x" * 1600}, "template.content"), "TEMPLATE_INVALID"),
    (lambda: validate_template("EMAIL", {"subject": "s"}, "template.content"), "TEMPLATE_INVALID"),
    (lambda: validate_template("PASS", {"pass_type_identifier": "com.x", "message": "m"}, "template.content"),
     "TEMPLATE_INVALID"),
    (lambda: validate_template("SMS", {"text": "{{ nope.x }}"}, "template.content"), "TEMPLATE_INVALID"),
    (lambda: validate_channel_config("EMAIL", "twilio", {}, {}, creating=True), "CHANNEL_CONFIG_INVALID"),
    (lambda: validate_channel_config("EMAIL", "smtp", {"host": "h", "port": "99999", "security": "SSL",
                                                       "from_address": "nope"}, {}, creating=True),
     "CHANNEL_CONFIG_INVALID"),
    *[(lambda sessions=sessions: validate_channel_config(
        "EMAIL", "smtp", {"host": "h", "port": "25", "security": "NONE", "from_address": "a@b.example",
                          "max_sessions": sessions}, {}, creating=True), "CHANNEL_CONFIG_INVALID")
      for sessions in ("0", "21", "four", "-1")],
    (lambda: validate_channel_config("SMS", "twilio", {"account_sid": "AC1", "from_number": "123"}, {},
                                     creating=True), "CHANNEL_CONFIG_INVALID"),
    (lambda: validate_channel_config("PUSH", "fcm", {"project_id": "p"}, {"service_account_json": "{}"},
                                     creating=True), "CHANNEL_CONFIG_INVALID"),
])
def test_set_up_validation_codes(call, code):
    with pytest.raises(InvalidArgument) as caught:
        call()
    assert caught.value.code == code
    assert caught.value.violations


def test_secret_box_seals_opens_and_rotates():
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox.from_keys([old]).seal({"password": "p@ss"})
    assert b"p@ss" not in sealed
    assert SecretBox.from_keys([new, old]).open(sealed) == {"password": "p@ss"}
    with pytest.raises(SecretBoxError):
        SecretBox.from_keys([new]).open(sealed)
