"""Customers' addresses: e-mail, E.164 phone numbers and push tokens, normalised and checked.

Phone numbers are written in international form (+ and the country calling code): the + says which
country's numbering plan applies (libphonenumber's, through `phonenumbers`), so no tenant or customer
default region is needed and a number means the same wherever it came from. E-mail addresses are checked
by `email-validator` without any DNS lookup (validation stays offline); an internationalised domain is
kept in its ASCII (IDNA) form, the form every SMTP server and mail header take."""

from __future__ import annotations

import dataclasses
import re
import zoneinfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from server.domain.engagement.entities import Contact
from server.domain.errors import FieldViolation, InvalidArgument

# Digits and the separators people write between them; letters (vanity numbers), extensions and a
# national trunk prefix are not what an SMS can be sent to.
_INTERNATIONAL_NUMBER = re.compile(r"^\+[0-9\s().-]+$")
INTERNATIONAL_FORM = "an international number: + and the country code, e.g. +420 601 123 456"
_NO_SUCH_COUNTRY = "no country has the calling code it starts with"
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: _NO_SUCH_COUNTRY,
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: "too short for a {country} number",
    ValidationResult.TOO_LONG: "too long for a {country} number",
    ValidationResult.INVALID_LENGTH: "not a length {country} numbers have",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "not a length {country} numbers have",
}
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# Each is a delivery of every push (or pass update) the customer is sent: a customer's phones, tablets
# and watches fit well within these, a list that grew without end (a client re-adding its token on each
# start) would multiply every message.
MAX_DEVICES = 20
MAX_PASSES = 50


def checked_email(value: str, field: str) -> tuple[str, list[FieldViolation]]:
    """(the address as it is sent, []) or (the value, [why it is not an address])."""
    try:
        # The sender speaks plain SMTP (no SMTPUTF8): a non-ASCII local part could not be delivered.
        address = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return value, [FieldViolation(field, str(exc))]
    return address.ascii_email or address.normalized, []


def checked_phone(value: str, field: str) -> tuple[str, list[FieldViolation]]:
    """(the number in E.164, []) or (the value, [why it is not a number of its country])."""
    written = value.strip()
    if not _INTERNATIONAL_NUMBER.match(written):
        return value, [FieldViolation(field, INTERNATIONAL_FORM)]
    try:
        number = phonenumbers.parse(written, None)  # no default region: the + names the country
    except NumberParseException as exc:
        return value, [FieldViolation(field, _PARSE_REASONS.get(exc.error_type, "not a phone number"))]
    if number.country_code is None:  # parse() sets it on every number it returns from a + form
        return value, [FieldViolation(field, _NO_SUCH_COUNTRY)]
    country = _country(number.country_code)
    length = phonenumbers.is_possible_number_with_reason(number)
    if length in _LENGTH_REASONS:
        return value, [FieldViolation(field, _LENGTH_REASONS[length].format(country=country))]
    if length != ValidationResult.IS_POSSIBLE:
        return value, [FieldViolation(field, _NO_SUCH_COUNTRY)]
    if not phonenumbers.is_valid_number(number):
        # Possible by its length, but in a range the country gives to no carrier (e.g. +1 555 555 0100).
        return value, [FieldViolation(field, f"not in the {country} numbering plan: no such number is given out")]
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), []


def _country(calling_code: int) -> str:
    regions = phonenumbers.region_codes_for_country_code(calling_code)
    geographic = len(regions) == 1 and regions[0] != phonenumbers.UNKNOWN_REGION and regions[0] != "001"
    return f"+{calling_code} ({regions[0]})" if geographic else f"+{calling_code}"


def email_violations(value: str, field: str) -> list[FieldViolation]:
    """A setting taken as written (a sender's address): valid, and already in the form that is sent."""
    address, violations = checked_email(value, field)
    if not violations and address.lower() != value.lower():  # e.g. an internationalised domain
        violations = [FieldViolation(field, f"write it as it is sent: {address}")]
    return violations


def phone_violations(value: str, field: str) -> list[FieldViolation]:
    """A setting taken as written (a sender's number): valid, and written in E.164."""
    number, violations = checked_phone(value, field)
    if not violations and number != value:
        violations = [FieldViolation(field, f"write it in E.164: {number}")]
    return violations


def push_token_violations(value: str, field: str) -> list[FieldViolation]:
    if not value or len(value) > 4096 or any(c.isspace() for c in value):
        return [FieldViolation(field, "1-4096 characters without spaces")]
    return []


def validate_contact_addresses(contact: Contact) -> Contact:
    """Normalised copy of the contact; INVALID_ARGUMENT CONTACT_INVALID with every bad field."""
    violations: list[FieldViolation] = []
    if not contact.customer_id:
        violations.append(FieldViolation("contact.customer_id", "is required"))
    email, phone = contact.email, contact.phone
    if email:
        email, found = checked_email(email, "contact.email")
        violations += found
    if phone:
        phone, found = checked_phone(phone, "contact.phone")
        violations += found
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
