"""SMS through Vonage (Nexmo)'s SMS API: POST {base}/sms/json with api_key, api_secret, from, to (no
'+'), text, type=unicode when the text is not GSM-7, callback. Settings: base_url, api_key, from;
secrets: api_secret. Status "0" is success; 1 (throttled) and 5 (internal error) are temporary."""

from __future__ import annotations

from server.domain.engagement.provider_codes import provider_code
from server.domain.engagement.sms import is_gsm7
from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent, temporary
from workers.channels.egress import EgressPolicy
from workers.channels.http import Http1Client, HttpAnswer, first_object, http_error, post

TEMPORARY_STATUSES = {"1", "5"}


class VonageSender:
    provider = "vonage"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._url = config.setting("base_url", "https://rest.nexmo.com").rstrip("/") + "/sms/json"
        self._key = config.setting("api_key")
        self._from = config.setting("from")
        self._secret = config.secret("api_secret")
        self._client = Http1Client(timeout_seconds, egress)

    async def send(self, message: OutgoingMessage) -> SendResult:
        text = message.content.get("text", "")
        form = {"api_key": self._key, "api_secret": self._secret, "from": self._from,
                "to": message.address.lstrip("+"), "text": text, "client-ref": message.delivery_id[:40]}
        if not is_gsm7(text):
            form["type"] = "unicode"
        if message.callback_url:
            form["callback"] = message.callback_url
        return await post(lambda: self._client.post(self._url, form=form), _interpret)

    async def aclose(self) -> None:
        await self._client.aclose()


def _interpret(response: HttpAnswer) -> SendResult:
    if not response.is_success:
        return http_error(response)
    first = first_object(response.json_object().get("messages"))
    if not first:
        return permanent("VONAGE_BAD_RESPONSE", response.text[:300])
    status = str(first.get("status", ""))
    if status == "0":
        return sent(str(first.get("message-id", "")))
    error, code = str(first.get("error-text", "rejected")), provider_code("VONAGE", status, "BAD_RESPONSE")
    return temporary(code, error) if status in TEMPORARY_STATUSES else permanent(code, error)
