"""Delivery receipts: a provider's report on a message, to the callback URL the workers gave it with the
message (/{tenant}/{config}/{token} under ENGAGE_RECEIPTS_BASE_URL). The URL's token is checked before
anything else, then that the configuration exists, then Twilio's signature; a report that names a
message's new state is recorded by the engagement service. The HTTP endpoint (server/receipts.py) reads
the request in between: the token and the configuration are checked before it reads the body."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog

from server.domain.engagement.receipts import parse_receipt, twilio_signature_valid
from server.security.receipt_urls import ReceiptUrls
from server.security.secret_box import SecretBox
from server.services.engagement import EngagementService
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)


class Refusal(enum.Enum):
    """Why a report was not read."""

    NOT_OURS = "NOT_OURS"  # the URL's token is not one Engage gave out
    UNKNOWN_ENDPOINT = "UNKNOWN_ENDPOINT"  # no such tenant, or no such configuration of it
    BAD_SIGNATURE = "BAD_SIGNATURE"  # the provider signs its reports, and this one's signature is wrong


@dataclass(frozen=True)
class ReceiptEndpoint:
    """A receipt URL Engage gave out, of a channel configuration that exists."""

    tenant_id: str
    config_id: str
    token: str
    provider: str
    sealed_secrets: bytes | None = field(repr=False)


class DeliveryReceiptsService:
    def __init__(self, database: Database, box: SecretBox, receipt_urls: ReceiptUrls,
                 engagement: EngagementService) -> None:
        self._database = database
        self._box = box
        self._receipt_urls = receipt_urls
        self._engagement = engagement

    async def endpoint(self, tenant_id: str, config_id: str, token: str) -> ReceiptEndpoint | Refusal:
        """The endpoint a report came to, or why it is none of ours."""
        if not self._receipt_urls.token_valid(tenant_id, config_id, token):
            return Refusal.NOT_OURS
        async with UnitOfWork(self._database, tenant_id) as uow:
            tenant = await uow.tenants.get(tenant_id)
            found = await uow.channel_configs.with_sealed_secrets({config_id}) if tenant else {}
        if config_id not in found:
            return Refusal.UNKNOWN_ENDPOINT
        config, sealed = found[config_id]
        return ReceiptEndpoint(tenant_id, config_id, token, config.provider, sealed)

    async def receive(self, endpoint: ReceiptEndpoint, fields: Mapping[str, object], signature: str
                      ) -> Refusal | None:
        """A report's fields (the query string and the body's), and the provider's signature of the
        request where it signs one (Twilio's X-Twilio-Signature). None when it was read: recorded if it
        names a message's new state, else of no consequence."""
        if endpoint.provider == "twilio":
            secrets = self._box.open(endpoint.sealed_secrets) if endpoint.sealed_secrets else {}
            # Twilio signs the URL it called: the one given with the message, whichever key made its token.
            url = f"{self._receipt_urls.base_url}/{endpoint.tenant_id}/{endpoint.config_id}/{endpoint.token}"
            form = {k: str(v) for k, v in fields.items()}
            if not twilio_signature_valid(secrets.get("auth_token", ""), url, form, signature):
                return Refusal.BAD_SIGNATURE
        receipt = parse_receipt(endpoint.provider, fields)
        if receipt is not None and receipt.delivery_id:  # a push app's report names its configuration by the URL
            receipt = dataclasses.replace(receipt, config_id=endpoint.config_id)
        if receipt is not None:
            matched = await self._engagement.record_receipt(endpoint.tenant_id, receipt)
            log.info("delivery_receipt", tenant=endpoint.tenant_id, provider=receipt.provider, status=receipt.status,
                     delivery=matched)
        return None
