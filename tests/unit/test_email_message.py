"""The MIME bytes of an email delivery, read back with the standard library's modern parser, as a mail
client would."""

import email
import email.policy
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.channels.email_message import HTML_ONLY_TEXT, email_bytes, one_line


def build(subject: str = "Alert", text: str = "plain", html: str = "", **fields: str) -> EmailMessage:
    raw = email_bytes(**{"from_header": "Bank <alerts@bank.example>", "to": "lisa@example.com", "subject": subject,
                         "message_id": "<m1@engage>", "delivery_id": "d1", "text": text, "html": html, **fields})
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def lines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300)
@given(subject=st.text(max_size=200), text=st.text(max_size=300), html=st.text(max_size=300))
def test_any_subject_and_parts_read_back_as_they_were_written(subject, text, html):
    mail = build(subject, text, html)
    assert str(mail["Subject"]) == one_line(subject)
    assert lines(mail.get_body(("plain",)).get_content()) == lines(text or HTML_ONLY_TEXT)
    if html:
        assert lines(mail.get_body(("html",)).get_content()) == lines(html)
    else:
        assert not mail.is_multipart()


def test_line_breaks_in_a_subject_cannot_add_headers():
    mail = build(subject="Your balance\r\nBcc: everyone@example.com\nX-Spam: no")
    assert mail["Bcc"] is None and mail["X-Spam"] is None
    assert mail["Subject"] == "Your balance Bcc: everyone@example.com X-Spam: no"


def test_headers_and_non_ascii_text_survive_the_trip():
    mail = build(subject="Výběr z bankomatu: 1 000,00 €", text="Dobrý den, Jiří.", html="<p>1 000,00 €</p>",
                 from_header="=?utf-8?q?Banka_=C4=8Cesk=C3=A1?= <alerts@bank.example>")
    assert (mail["From"], mail["To"], mail["Message-ID"]) == (
        "Banka Česká <alerts@bank.example>", "lisa@example.com", "<m1@engage>")
    assert mail["X-Engage-Delivery-Id"] == "d1" and mail["Date"] is not None
    assert mail["Subject"] == "Výběr z bankomatu: 1 000,00 €"
    assert mail.get_body(("plain",)).get_content().strip() == "Dobrý den, Jiří."
    assert mail.get_body(("html",)).get_content().strip() == "<p>1 000,00 €</p>"
