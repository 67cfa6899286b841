"""SMS through Clickatell's Platform API: POST {base}/messages, JSON {"content", "to": [...], "from"},
header Authorization: <api key>. Settings: base_url, from (optional); secrets: api_key."""

from __future__ import annotations

from server.domain.engagement.provider_codes import provider_code
from workers.channels.base import OutgoingMessage, ProviderConfig, SendResult, permanent, sent
from workers.channels.egress import EgressPolicy
from workers.channels.http import Http1Client, HttpAnswer, first_object, post


class ClickatellSender:
    provider = "clickatell"

    def __init__(self, config: ProviderConfig, timeout_seconds: float, egress: EgressPolicy) -> None:
        self._url = config.setting("base_url", "https://platform.clickatell.com").rstrip("/") + "/messages"
        self._from = config.settings.get("from", "")
        self._headers = {"Authorization": config.secret("api_key"), "Accept": "application/json"}
        self._client = Http1Client(timeout_seconds, egress)

    async def send(self, message: OutgoingMessage) -> SendResult:
        body: dict[str, object] = {"content": message.content.get("text", ""), "to": [message.address.lstrip("+")]}
        if self._from:
            body["from"] = self._from
        if message.callback_url:
            body["callbackUrl"] = message.callback_url
        headers = {**self._headers, "Idempotency-Key": message.idempotency_key}
        return await post(lambda: self._client.post(self._url, json_body=body, headers=headers), _interpret)

    async def aclose(self) -> None:
        await self._client.aclose()


def _interpret(response: HttpAnswer) -> SendResult:
    body = response.json_object()
    first = first_object(body.get("messages"))
    if response.is_success and first.get("accepted") is True and first.get("apiMessageId"):
        return sent(str(first["apiMessageId"]))
    error = first.get("error") or body.get("error") or {}
    if isinstance(error, dict):
        code, description = error.get("code"), error.get("description", response.text)
    else:
        code, description = None, str(error)
    return permanent(provider_code("CLICKATELL", code, response.status_code), str(description))
