"""Email over SMTP (aiosmtplib). Settings: host, port, security NONE | STARTTLS | TLS, from_address,
from_name (optional); secrets: username, password (optional). The Message-ID derives from the
idempotency key, so a retried delivery carries the same id."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import aiosmtplib

from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent, temporary
from workers.channels.http import stable_uuid


class SmtpSender:
    provider = "smtp"

    def __init__(self, config: ProviderConfig, timeout_seconds: float) -> None:
        self._host = config.setting("host")
        self._port = int(config.setting("port"))
        self._security = config.setting("security", "NONE")
        self._from = email.utils.formataddr((config.settings.get("from_name", ""), config.setting("from_address")))
        self._username = config.secrets.get("username") or None
        self._password = config.secrets.get("password") or None
        self._timeout = timeout_seconds

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = message.address
        mail["Subject"] = message.content.get("subject", "")
        mail["Message-ID"] = f"<{stable_uuid(message.idempotency_key)}@engage>"
        mail["Date"] = email.utils.formatdate(usegmt=True)
        mail["X-Engage-Delivery-Id"] = message.delivery_id
        text, html = message.content.get("text", ""), message.content.get("html", "")
        mail.set_content(text or "This message is best viewed as HTML.")
        if html:
            mail.add_alternative(html, subtype="html")
        return mail

    async def send(self, message: OutgoingMessage) -> SendResult:
        mail = self.build(message)
        try:
            await aiosmtplib.send(mail, hostname=self._host, port=self._port, username=self._username,
                                  password=self._password, use_tls=self._security == "TLS",
                                  start_tls=True if self._security == "STARTTLS" else False,
                                  timeout=self._timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(400 <= c < 500 for c in codes):
                return temporary(f"SMTP_{codes[0]}", str(exc))
            return permanent(f"SMTP_{codes[0] if codes else 550}", str(exc))
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                return temporary(f"SMTP_{exc.code}", exc.message)
            return permanent(f"SMTP_{exc.code}", exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return temporary("SMTP_CONNECTION", repr(exc))
        return sent(str(mail["Message-ID"]))

    async def aclose(self) -> None:
        return None
