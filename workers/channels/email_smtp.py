"""Email over SMTP (aiosmtplib). Settings: host, port, security NONE | STARTTLS | TLS, from_address,
from_name and max_sessions (optional); secrets: username, password (optional). The Message-ID derives from the
idempotency key, so a retried delivery carries the same id. Sessions with the server are kept open
and reused (workers.channels.smtp_sessions)."""

from __future__ import annotations

import base64
import email.utils
from collections.abc import Mapping

import aiosmtplib

from server.domain.engagement.sending import EGRESS_DENIED
from server.domain.engagement.wallet_passes import ATTACHMENT_PREFIX
from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent, temporary
from workers.channels.egress import EgressDenied, EgressPolicy
from workers.channels.email_message import Attachment, email_bytes
from workers.channels.http import stable_uuid
from workers.channels.smtp_sessions import DEFAULT_SESSIONS, SmtpSessions


class SmtpSender:
    provider = "smtp"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._host = config.setting("host")
        self._port = int(config.setting("port"))
        self._security = config.setting("security", "NONE")
        self._from_address = config.setting("from_address")
        self._from = email.utils.formataddr((config.settings.get("from_name", ""), self._from_address),
                                            charset="utf-8")
        self._username = config.secrets.get("username") or None
        self._password = config.secrets.get("password") or None
        self._timeout = timeout_seconds
        self._egress = egress
        self._sessions = SmtpSessions(self._connect, int(config.settings.get("max_sessions") or DEFAULT_SESSIONS))

    async def _connect(self) -> aiosmtplib.SMTP:
        """A session with the server: the socket is opened here, to an address the egress policy allows,
        and aiosmtplib speaks SMTP (and TLS, still checked against the host's name) over it."""
        sock = await self._egress.open_socket(self._host, self._port, self._timeout)
        client = aiosmtplib.SMTP(hostname=self._host, sock=sock, username=self._username, password=self._password,
                                 use_tls=self._security == "TLS", start_tls=self._security == "STARTTLS",
                                 timeout=self._timeout)
        try:
            await client.connect()
        except BaseException:
            client.close()  # e.g. connected but the login was refused
            sock.close()
            raise
        return client

    def build(self, message: OutgoingMessage) -> tuple[str, bytes]:
        """(its Message-ID, the message as sent)."""
        message_id = f"<{stable_uuid(message.idempotency_key)}@engage>"
        return message_id, email_bytes(
            from_header=self._from, to=message.address, subject=message.content.get("subject", ""),
            message_id=message_id, delivery_id=message.delivery_id, text=message.content.get("text", ""),
            html=message.content.get("html", ""), attachments=_passes(message.content))

    async def send(self, message: OutgoingMessage) -> SendResult:
        message_id, data = self.build(message)
        try:
            async with self._sessions.session() as client:
                await client.sendmail(self._from_address, [message.address], data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(400 <= c < 500 for c in codes):
                return temporary(f"SMTP_{codes[0]}", str(exc))
            return permanent(f"SMTP_{codes[0] if codes else 550}", str(exc))
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                return temporary(f"SMTP_{exc.code}", exc.message)
            return permanent(f"SMTP_{exc.code}", exc.message)
        except EgressDenied as exc:
            return permanent(EGRESS_DENIED, str(exc))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return temporary("SMTP_CONNECTION", repr(exc))
        return sent(message_id)

    async def aclose(self) -> None:
        await self._sessions.aclose()


def _passes(content: Mapping[str, str]) -> list[Attachment]:
    """The Wallet passes a delivery carries (server.services.wallet_sending): .pkpass attachments."""
    return [Attachment("pass.pkpass" if key == f"{ATTACHMENT_PREFIX}1" else f"pass-{key.rsplit('.', 1)[-1]}.pkpass",
                       "vnd.apple.pkpass", base64.b64decode(value))
            for key, value in sorted(content.items()) if key.startswith(ATTACHMENT_PREFIX)]
