"""Customers' addresses: e-mail, E.164 phone numbers and push tokens, normalised and checked."""

from __future__ import annotations

import dataclasses
import re
import zoneinfo

from server.domain.engagement.entities import Contact
from server.domain.errors import FieldViolation, InvalidArgument

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# Each is a delivery of every push (or pass update) the customer is sent: a customer's phones, tablets
# and watches fit well within these, a list that grew without end (a client re-adding its token on each
# start) would multiply every message.
MAX_DEVICES = 20
MAX_PASSES = 50


def normalise_email(value: str) -> str:
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else value.strip()


def normalise_phone(value: str) -> str:
    return re.sub(r"[\s().-]", "", value)


def email_violations(value: str, field: str) -> list[FieldViolation]:
    return [] if _EMAIL.match(value) and len(value) <= 254 else [FieldViolation(field, "not an e-mail address")]


def phone_violations(value: str, field: str) -> list[FieldViolation]:
    return [] if _E164.match(value) else [FieldViolation(field, "not an E.164 number (+ and 8-15 digits)")]


def push_token_violations(value: str, field: str) -> list[FieldViolation]:
    if not value or len(value) > 4096 or any(c.isspace() for c in value):
        return [FieldViolation(field, "1-4096 characters without spaces")]
    return []


def validate_contact_addresses(contact: Contact) -> Contact:
    """Normalised copy of the contact; INVALID_ARGUMENT CONTACT_INVALID with every bad field."""
    email = normalise_email(contact.email) if contact.email else ""
    phone = normalise_phone(contact.phone) if contact.phone else ""
    violations: list[FieldViolation] = []
    if not contact.customer_id:
        violations.append(FieldViolation("contact.customer_id", "is required"))
    if email:
        violations += email_violations(email, "contact.email")
    if phone:
        violations += phone_violations(phone, "contact.phone")
    if len(contact.devices) > MAX_DEVICES:
        violations.append(FieldViolation("contact.devices", f"at most {MAX_DEVICES}"))
    if len(contact.passes) > MAX_PASSES:
        violations.append(FieldViolation("contact.passes", f"at most {MAX_PASSES}"))
    tokens: dict[str, int] = {}
    for index, device in enumerate(contact.devices):
        violations += push_token_violations(device.push_token, f"contact.devices[{index}].push_token")
        first = tokens.setdefault(device.push_token, index)
        if first != index:
            violations.append(FieldViolation(f"contact.devices[{index}].push_token",
                                             f"repeats contact.devices[{first}].push_token"))
    serials: dict[tuple[str, str, str], int] = {}
    for index, wallet_pass in enumerate(contact.passes):
        violations += push_token_violations(wallet_pass.push_token, f"contact.passes[{index}].push_token")
        if not wallet_pass.pass_type_identifier.startswith("pass."):
            violations.append(FieldViolation(f"contact.passes[{index}].pass_type_identifier", "starts with 'pass.'"))
        key = (wallet_pass.pass_type_identifier, wallet_pass.serial_number, wallet_pass.push_token)
        first = serials.setdefault(key, index)
        if first != index:
            violations.append(FieldViolation(f"contact.passes[{index}]", f"repeats contact.passes[{first}]"))
    quiet = contact.preferences.quiet_hours
    if quiet is not None:
        for name, value in (("start", quiet.start), ("end", quiet.end)):
            if not _HHMM.match(value):
                violations.append(FieldViolation(f"contact.preferences.quiet_hours.{name}", "HH:MM, 00:00-23:59"))
        try:
            zoneinfo.ZoneInfo(quiet.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            violations.append(FieldViolation("contact.preferences.quiet_hours.time_zone", "an IANA time zone"))
    if violations:
        raise InvalidArgument("CONTACT_INVALID", "the contact is not valid", violations=violations)
    return dataclasses.replace(contact, email=email, phone=phone)
