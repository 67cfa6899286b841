"""An email delivery as the bytes of SMTP's DATA: a text part, and an HTML alternative when there is
one. Built with the standard library's classic (compat32) MIME classes: EmailMessage re-parses every
header it is given into a header object, and building and flattening one were about half of a
dispatch worker's py-spy samples while it sent email."""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.charset import QP, Charset
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32

HTML_ONLY_TEXT = "This message is best viewed as HTML."

# Quoted-printable keeps mostly-Latin text readable in the raw message (base64 is compat32's default
# for UTF-8).
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


class _WirePolicy(Compat32):
    """compat32 with CRLF line ends, except that a header of plain ASCII that fits on its line is
    written as it is: compat32 runs every header through email.header.Header, most of the cost of
    flattening a message. Anything else (non-ASCII, long) still goes that way and comes out encoded
    and folded."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if isinstance(value, str) and value.isascii() and len(name) + 2 + len(value) <= (self.max_line_length or 78):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _WirePolicy(linesep="\r\n")


def one_line(value: str) -> str:
    """A header value on one line: rendered content may hold line breaks, which in a header would start
    a header of the recipient's choosing."""
    return " ".join(value.splitlines()).strip()


@dataclass(frozen=True)
class Attachment:
    """A file sent with the message, of an application/* type."""

    filename: str
    subtype: str  # of application/: "vnd.apple.pkpass"
    data: bytes


def email_bytes(*, from_header: str, to: str, subject: str, message_id: str, delivery_id: str, text: str,
                html: str, attachments: Sequence[Attachment] = ()) -> bytes:
    plain = MIMEText(text or HTML_ONLY_TEXT, "plain", _UTF8)  # type: ignore[arg-type]
    mail: Message
    if html:
        # A boundary of our own: without one the generator makes one and compiles a regular expression
        # to check the parts for it, per message. 128 random bits cannot be guessed by the content.
        mail = MIMEMultipart("alternative", boundary=f"=_engage_{secrets.token_hex(16)}")
        mail.attach(plain)
        mail.attach(MIMEText(html, "html", _UTF8))  # type: ignore[arg-type]
    else:
        mail = plain
    if attachments:
        body, mail = mail, MIMEMultipart("mixed", boundary=f"=_engage_{secrets.token_hex(16)}")
        mail.attach(body)
        for attachment in attachments:
            part = MIMEApplication(attachment.data, attachment.subtype)  # base64
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            mail.attach(part)
    mail["From"] = from_header
    mail["To"] = one_line(to)
    mail["Subject"] = one_line(subject)
    mail["Message-ID"] = message_id
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["X-Engage-Delivery-Id"] = delivery_id
    return mail.as_bytes(policy=_WIRE)
