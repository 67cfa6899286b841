"""Contact addresses: phone numbers by their country's numbering plan (phonenumbers), e-mail addresses
by RFC 5321/6531 with internationalised domains (email-validator, offline), each refusal with its reason."""

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from server.domain.engagement.addresses import (
    INTERNATIONAL_FORM,
    checked_email,
    checked_phone,
    email_violations,
    phone_violations,
    validate_contact_addresses,
)
from server.domain.engagement.entities import Contact
from server.domain.errors import FieldViolation, InvalidArgument

# The regular expression that stood here before: "+", then 8-15 digits.
OLD_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# The libraries load a country's metadata and the IDNA tables on first use: a first example is slow.
LAZY_DATA = settings(deadline=None)
# Regions whose example mobile number libphonenumber ships (a valid number of each country's plan).
REGIONS_WITH_MOBILES = sorted(r for r in phonenumbers.SUPPORTED_REGIONS
                              if phonenumbers.example_number_for_type(r, phonenumbers.PhoneNumberType.MOBILE))


def reasons(contact: Contact) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_contact_addresses(contact)
    assert caught.value.code == "CONTACT_INVALID"
    return {v.field: v.description for v in caught.value.violations}


@pytest.mark.parametrize(("number", "reason"), [
    # The old pattern took each of these: the right count of digits, in ranges no carrier is given.
    ("+15555550100", "not in the +1 numbering plan: no such number is given out"),
    ("+420600000001", "not in the +420 (CZ) numbering plan: no such number is given out"),
    ("+4206011234567", "not in the +420 (CZ) numbering plan: no such number is given out"),
    ("+420601123", "too short for a +420 (CZ) number"),
    ("+44207946095812", "too long for a +44 number"),
    ("+14155552", "not a length +1 numbers have"),
    ("+9991234567", "no country has the calling code it starts with"),
])
def test_numbers_the_old_pattern_took_are_refused_with_the_countrys_rule(number: str, reason: str) -> None:
    assert OLD_E164.match(number)
    assert checked_phone(number, "contact.phone") == (number, [FieldViolation("contact.phone", reason)])


@pytest.mark.parametrize(("written", "stored"), [
    ("+420 601 123 456", "+420601123456"),
    ("+420-601-123-456", "+420601123456"),
    (" +44 (20) 7946.0958 ", "+442079460958"),
    ("+1 202 555 0123", "+12025550123"),
    ("+800 1234 5678", "+80012345678"),  # international freephone: a plan without a country
])
def test_numbers_written_with_separators_are_stored_in_e164(written: str, stored: str) -> None:
    assert checked_phone(written, "contact.phone") == (stored, [])


@pytest.mark.parametrize("number", ["601 123 456", "00420601123456", "420601123456", "+420 601 ABC 456",
                                    "+420601123456 ext. 12", "tel:+420601123456", "+", ""])
def test_a_number_must_be_written_in_international_form_of_digits(number: str) -> None:
    # The + names the country whose rules apply: a national number would need a region we do not have.
    assert checked_phone(number, "contact.phone")[1][0].description == INTERNATIONAL_FORM


def test_a_contact_is_stored_normalised_and_refused_with_each_reason() -> None:
    contact = validate_contact_addresses(Contact(customer_id="c1", email=" Jan.Novak@Bücher.Example ",
                                                 phone="+420 601 123 456"))
    assert (contact.email, contact.phone) == ("Jan.Novak@xn--bcher-kva.example", "+420601123456")
    assert reasons(Contact(customer_id="c1", email="jan..novak@example.com", phone="+15555550100")) == {
        "contact.email": "An email address cannot have two periods in a row.",
        "contact.phone": "not in the +1 numbering plan: no such number is given out"}


@pytest.mark.parametrize(("address", "sent"), [
    ("jan@bücher.de", "jan@xn--bcher-kva.de"),
    ("info@例え.jp", "info@xn--r8jz45g.jp"),
    ("klient@příklad.cz", "klient@xn--pklad-zsa96e.cz"),
    ("Lisa@Example.COM", "Lisa@example.com"),
])
def test_internationalised_domains_are_taken_in_the_form_smtp_sends(address: str, sent: str) -> None:
    assert checked_email(address, "contact.email") == (sent, [])


@pytest.mark.parametrize(("address", "reason"), [
    ("lisa.example.com", "An email address must have an @-sign."),
    ("lisa@localhost", "The part after the @-sign is not valid. It should have a period."),
    ("lisa@example.invalid", "The part after the @-sign is a special-use or reserved name that cannot be used "
                             "with email."),
    ("jörg@example.com", "Internationalized characters before the @-sign are not supported: 'ö'."),
    ("a" * 250 + "@example.com", "The email address is too long (8 characters too many)."),
])
def test_an_address_that_cannot_be_sent_to_is_refused_saying_why(address: str, reason: str) -> None:
    assert [v.description for v in checked_email(address, "contact.email")[1]] == [reason]


def test_a_senders_settings_must_be_written_as_they_are_sent() -> None:
    assert phone_violations("+15005550006", "from_number") == []
    assert [v.description for v in phone_violations("+420 601 123 456", "from_number")] == [
        "write it in E.164: +420601123456"]
    assert email_violations("Alerts@Bank.Example", "from_address") == []
    assert [v.description for v in email_violations("alerts@bücher.de", "from_address")] == [
        "write it as it is sent: alerts@xn--bcher-kva.de"]


@LAZY_DATA
@given(st.sampled_from(REGIONS_WITH_MOBILES),
       st.sampled_from([PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL]))
def test_every_countrys_example_mobile_is_taken_in_any_international_writing(region: str, style: int) -> None:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert checked_phone(phonenumbers.format_number(number, style), "f") == (e164, [])


@LAZY_DATA
@given(st.text(alphabet=st.sampled_from("+0123456789 ()-.x"), max_size=24) | st.text(max_size=24))
def test_any_text_is_either_refused_or_stored_as_a_valid_e164_number_that_checks_again(text: str) -> None:
    stored, violations = checked_phone(text, "f")
    if violations:
        assert (stored, len(violations)) == (text, 1)
    else:
        assert E164.match(stored) and phonenumbers.is_valid_number(phonenumbers.parse(stored))
        assert checked_phone(stored, "f") == (stored, [])


@LAZY_DATA
@given(st.emails() | st.text(max_size=40))
def test_an_accepted_address_is_ascii_and_accepted_again_unchanged(text: str) -> None:
    sent, violations = checked_email(text, "f")
    if not violations:
        assert sent.isascii() and len(sent) <= 254
        assert checked_email(sent, "f") == (sent, [])
