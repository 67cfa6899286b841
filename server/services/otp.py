"""One-time passwords: sent by push or SMS through the outbox, stored only as a keyed hash, valid for a
short time, single use, with limited attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from server.domain.auth import Caller, Role
from server.domain.engagement import otp as otp_rules
from server.domain.engagement.entities import AppState, Channel, Delivery, Event, EventMessage
from server.domain.engagement.preferences import MessageClass
from server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, ResourceExhausted, not_found
from server.domain.ids import new_id
from server.security.secret_box import SecretBox
from server.services.clock import Clock, utc_now
from server.services.engagement import EngagementService
from server.services.fanout import Trigger, load_sending_setup, record_trigger
from server.store.db import Database
from server.store.uow import UnitOfWork

_PURPOSE = re.compile(r"^[A-Za-z0-9 _.-]{1,64}$")
_OTP_PUSH = {"title": "{{ bank.name }} security code",
             "body": "Your code for {{ data.purpose }} is {{ otp.code }}. It expires in {{ otp.expires_minutes }} "
                     "minutes. Never share it."}
_OTP_SMS = {"text": "{{ bank.name }}: your code for {{ data.purpose }} is {{ otp.code }}. Valid "
                    "{{ otp.expires_minutes }} min. Never share it."}


@dataclasses.dataclass
class SentOtp:
    otp_id: str
    expires_at: dt.datetime
    channel: Channel
    delivery: Delivery


class OtpService:
    def __init__(self, database: Database, box: SecretBox, hash_key: bytes, engagement: EngagementService,
                 ttl: dt.timedelta, max_attempts: int, digits: int, max_sends_per_hour: int,
                 clock: Clock = utc_now) -> None:
        self._database = database
        self._box = box
        self._hash_key = hash_key
        self._engagement = engagement
        self._ttl = ttl
        self._max_attempts = max_attempts
        self._digits = digits
        self._max_sends_per_hour = max_sends_per_hour
        self._clock = clock

    async def send(self, caller: Caller, customer_id: str, purpose: str, channel: Channel | None) -> SentOtp:
        caller.require_role(Role.SERVICE)
        if not _PURPOSE.match(purpose or ""):
            raise InvalidArgument("OTP_PURPOSE_INVALID", "purpose must be 1-64 letters, digits, spaces or _.-",
                                  violations=[FieldViolation("purpose", "1-64 of A-Z a-z 0-9 space _ . -")])
        if channel not in (None, Channel.PUSH, Channel.SMS):
            raise InvalidArgument("OTP_CHANNEL_INVALID", "a one-time password goes by PUSH or SMS",
                                  violations=[FieldViolation("channel", "CHANNEL_PUSH or CHANNEL_SMS")])
        now = self._clock()
        otp_id, code = new_id(), otp_rules.generate_code(self._digits)
        expires_at = now + self._ttl
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            # Held to the commit: requests at the same moment (SMS pumping) count each other's codes.
            if not await uow.customers.hold(customer_id):
                raise not_found("customer", customer_id)
            wait = otp_rules.wait_before_next_send(
                await uow.otps.sent_since(customer_id, now - otp_rules.SEND_WINDOW), now, self._max_sends_per_hour)
            if wait is not None:
                seconds = max(int(wait.total_seconds()) + 1, 1)
                raise ResourceExhausted("OTP_TOO_MANY_SENDS", f"at most {self._max_sends_per_hour} one-time passwords "
                                        f"per customer per hour; the next may be sent in {seconds} s",
                                        metadata={"retry_after_seconds": str(seconds)})
            contact = await uow.contacts.get(customer_id)
            published = {a.app_id for a in await uow.apps.page(None, 10_000) if a.state is AppState.PUBLISHED}
            device = next((d for d in (contact.devices if contact else []) if d.app_id in published), None)
            chosen = channel or (Channel.PUSH if device else Channel.SMS)
            # Opt-outs do not stop a one-time password; having nowhere to send it does.
            no_phone = not (contact and contact.phone)
            if (chosen is Channel.PUSH and device is None) or (chosen is Channel.SMS and no_phone):
                raise FailedPrecondition("OTP_NO_ADDRESS", f"customer '{customer_id}' has no {chosen.lower()} "
                                         "address to send a one-time password to")
            event = Event("otp", "One-time password", purpose, "engage", "", device.app_id if chosen is
                          Channel.PUSH and device else "", str(MessageClass.OTP),
                          [EventMessage(chosen, "", _OTP_PUSH if chosen is Channel.PUSH else _OTP_SMS)], now, now)
            tokens = {"otp": {"code": code, "expires_minutes": str(int(self._ttl.total_seconds() // 60) or 1)},
                      "data": {"purpose": purpose}}
            trigger = Trigger(event, customer_id, f"otp:{otp_id}", tokens, message_class=MessageClass.OTP,
                              channels=frozenset({chosen}), sensitive=True)
            setup = await load_sending_setup(uow, [event])
            deliveries, _ = await record_trigger(uow, trigger, setup, contact, self._box, now)
            await uow.otps.add(otp_rules.StoredOtp(otp_id, customer_id, purpose,
                                                   otp_rules.hash_code(self._hash_key, otp_id, code), expires_at,
                                                   0, self._max_attempts, None), now)
            await uow.commit()
        await self._engagement.announce(caller.tenant_id, deliveries)
        return SentOtp(otp_id, expires_at, chosen, deliveries[0])

    async def verify(self, caller: Caller, otp_id: str, code: str) -> bool:
        caller.require_role(Role.SERVICE, Role.USER)
        if not code:
            raise InvalidArgument("OTP_CODE_REQUIRED", "code is required",
                                  violations=[FieldViolation("code", "required")])
        now = self._clock()
        async with UnitOfWork(self._database, caller.tenant_id) as uow:
            stored = await uow.otps.get_for_update(otp_id)
            if stored is None:
                raise not_found("otp", otp_id)
            caller.require_customer_access(stored.customer_id)
            outcome, updated = otp_rules.verify(stored.record(), self._hash_key, code, now)
            await uow.otps.save_attempt(otp_id, updated.attempts, updated.consumed_at)
            await uow.commit()
        return _answer(outcome, updated)


def _answer(outcome: otp_rules.VerifyOutcome, record: otp_rules.OtpRecord) -> bool:
    if outcome is otp_rules.VerifyOutcome.VERIFIED:
        return True
    if outcome is otp_rules.VerifyOutcome.WRONG_CODE:
        left = max(record.max_attempts - record.attempts, 0)
        raise InvalidArgument("OTP_WRONG_CODE", f"the code is wrong; {left} attempts left",
                              violations=[FieldViolation("code", "wrong code")], metadata={"attempts_left": str(left)})
    messages = {otp_rules.VerifyOutcome.EXPIRED: "the code has expired",
                otp_rules.VerifyOutcome.ALREADY_USED: "the code has been used already",
                otp_rules.VerifyOutcome.TOO_MANY_ATTEMPTS: "too many wrong attempts: ask for a new code"}
    raise FailedPrecondition(f"OTP_{outcome.name}", messages[outcome])

