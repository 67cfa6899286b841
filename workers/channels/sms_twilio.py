"""SMS through Twilio's Messages API: POST {base}/2010-04-01/Accounts/{sid}/Messages.json, form fields
To, From (or MessagingServiceSid), Body, StatusCallback; HTTP basic auth sid:auth_token. Settings:
base_url, account_sid, from_number | messaging_service_sid; secrets: auth_token."""

from __future__ import annotations

import aiohttp

from server.domain.engagement.provider_codes import provider_code
from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent
from workers.channels.egress import EgressPolicy
from workers.channels.http import Http1Client, HttpAnswer, post


class TwilioSender:
    provider = "twilio"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._sid = config.setting("account_sid")
        base = config.setting("base_url", "https://api.twilio.com").rstrip("/")
        self._url = f"{base}/2010-04-01/Accounts/{self._sid}/Messages.json"
        self._from = config.settings.get("from_number", "")
        self._service = config.settings.get("messaging_service_sid", "")
        self._authorization = aiohttp.encode_basic_auth(self._sid, config.secret("auth_token"))
        self._client = Http1Client(timeout_seconds, egress)

    async def send(self, message: OutgoingMessage) -> SendResult:
        form = {"To": message.address, "Body": message.content.get("text", "")}
        form.update({"MessagingServiceSid": self._service} if self._service else {"From": self._from})
        if message.callback_url:
            form["StatusCallback"] = message.callback_url
        headers = {"Authorization": self._authorization, "I-Twilio-Idempotency-Token": message.idempotency_key}
        return await post(lambda: self._client.post(self._url, form=form, headers=headers),
                          _interpret)

    async def aclose(self) -> None:
        await self._client.aclose()


def _interpret(response: HttpAnswer) -> SendResult:
    body = response.json_object()
    if response.is_success and isinstance(body.get("sid"), str) and body["sid"]:
        return sent(body["sid"])
    # Twilio's error body: {"code": 21211, "message": "The 'To' number ... is not a valid phone number."}
    return permanent(provider_code("TWILIO", body.get("code"), response.status_code),
                     str(body.get("message", response.text)))
