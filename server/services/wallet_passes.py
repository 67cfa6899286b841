"""Wallet passes: who signs a pass type's passes (its apple_pass channel configuration), and the use
cases of Apple's PassKit web service that wallets call (register and unregister a device, list the
passes changed since a tag, fetch the latest signed pass, fetch a new pass by its download link).
Issuing and updating passes is part of sending (server.services.fanout): an event's PASS message."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

import structlog

from server.domain.engagement import wallet_passes
from server.domain.engagement.entities import Channel
from server.domain.engagement.wallet_passes import IssuedPass, PassContent, PassSigner, PassSigningError
from server.security.secret_box import SecretBox, SecretBoxError
from server.services.clock import Clock, utc_now
from server.store.db import Database
from server.store.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Longest identifiers the web service takes in its paths (the store's column widths).
MAX_TENANT = 64
MAX_PASS_TYPE = 255
MAX_SERIAL = 64
MAX_DEVICE = 128
MAX_PUSH_TOKEN = 200


@dataclass(frozen=True)
class PassIssuer:
    """A pass type's signer and the public base URL of the pass web service its passes name."""

    signer: PassSigner
    web_service_base: str  # the apple_pass configuration's web_service_url ("" = not set)

    def web_service_url(self, tenant_id: str) -> str:
        return f"{self.web_service_base.rstrip('/')}/passes/{tenant_id}"

    def download_url(self, tenant_id: str, token: str) -> str:
        return f"{self.web_service_url(tenant_id)}/downloads/{token}"


async def pass_issuers(uow: UnitOfWork, box: SecretBox, pass_types: set[str]) -> dict[str, PassIssuer]:
    """The issuer of each pass type that has an apple_pass configuration (the most recently updated
    one naming the type), its secrets opened; a configuration whose secrets cannot be opened signs
    nothing (logged)."""
    if not pass_types:
        return {}
    routes = [r.config_id for r in await uow.channel_configs.routes()
              if r.channel is Channel.PASS and r.provider == "apple_pass"]
    configs = await uow.channel_configs.with_sealed_secrets(set(routes))
    issuers: dict[str, tuple[dt.datetime, PassIssuer]] = {}
    for config, sealed in configs.values():
        pass_type = config.settings.get("pass_type_identifier", "")
        if pass_type not in pass_types or (pass_type in issuers and issuers[pass_type][0] >= config.updated_at):
            continue
        try:
            secrets = box.open(sealed) if sealed else {}
        except SecretBoxError as exc:
            log.error("pass_config_secrets_unreadable", config=config.config_id, error=str(exc))
            continue
        certificate = secrets.get("certificate_pem", "")
        signer = PassSigner(certificate, secrets.get("private_key_pem", ""),
                            secrets.get("wwdr_certificate_pem") or None,
                            wallet_passes.team_identifier(certificate, config.settings.get("team_identifier", "")))
        issuers[pass_type] = (config.updated_at, PassIssuer(signer, config.settings.get("web_service_url", "")))
    return {pass_type: issuer for pass_type, (_, issuer) in issuers.items()}


def signed_pass(tenant_id: str, issued: IssuedPass, issuer: PassIssuer, box: SecretBox) -> bytes:
    """The pass's .pkpass as it is now (raises PassSigningError, SecretBoxError)."""
    token = box.open(issued.sealed_token)["token"]
    return wallet_passes.bundle(PassContent(issued.pass_type_identifier, issued.serial_number, token,
                                            issuer.web_service_url(tenant_id), issued.parts), issuer.signer)


class Refusal(Enum):
    UNAUTHORIZED = 401  # no pass of that name, or not its token
    NOT_FOUND = 404  # a download link that is unknown or has expired
    UNAVAILABLE = 503  # the pass type has no configuration that can sign


@dataclass(frozen=True)
class PassFile:
    data: bytes
    last_modified: dt.datetime
    serial_number: str


@dataclass(frozen=True)
class UpdatedSerials:
    serial_numbers: list[str]
    last_updated: str  # the tag to send back as passesUpdatedSince


def _bounded(*values: tuple[str, int]) -> bool:
    """Each value within its column's width, and without NUL (which PostgreSQL's text cannot hold)."""
    return all(0 < len(value) <= limit and "\x00" not in value for value, limit in values)


class WalletPassService:
    def __init__(self, database: Database, box: SecretBox, *, tenant_active: Callable[[str], Awaitable[bool]],
                 clock: Clock = utc_now) -> None:
        """`tenant_active`: whether a tenant exists and is enabled (TenantService.is_active): a disabled
        bank's passes are neither served nor registered."""
        self._database = database
        self._box = box
        self._tenant_active = tenant_active
        self._clock = clock

    async def _serves(self, tenant_id: str) -> bool:
        return _bounded((tenant_id, MAX_TENANT)) and await self._tenant_active(tenant_id)

    def _authorized(self, issued: IssuedPass | None, authorization: str) -> bool:
        """Whether `Authorization: ApplePass <token>` carries the pass's token (compared in constant time)."""
        scheme, _, given = authorization.partition(" ")
        if issued is None or scheme != "ApplePass" or not given:
            return False
        try:
            expected = self._box.open(issued.sealed_token)["token"]
        except (SecretBoxError, KeyError):
            return False
        return hmac.compare_digest(expected.encode(), given.strip().encode())

    async def _pass(self, uow: UnitOfWork, pass_type: str, serial: str) -> IssuedPass | None:
        if not _bounded((pass_type, MAX_PASS_TYPE), (serial, MAX_SERIAL)):
            return None
        return await uow.wallet_passes.get(pass_type, serial)

    async def register(self, tenant_id: str, device: str, pass_type: str, serial: str, push_token: str,
                       authorization: str) -> bool | Refusal:
        """True: newly registered (201); False: it already was (200)."""
        if not _bounded((device, MAX_DEVICE), (push_token, MAX_PUSH_TOKEN)) or not await self._serves(tenant_id):
            return Refusal.UNAUTHORIZED
        async with UnitOfWork(self._database, tenant_id) as uow:
            if not self._authorized(await self._pass(uow, pass_type, serial), authorization):
                return Refusal.UNAUTHORIZED
            created = await uow.wallet_registrations.register(device, pass_type, serial, push_token, self._clock())
            await uow.commit()
        log.info("wallet_device_registered", tenant=tenant_id, pass_type=pass_type, serial=serial, new=created)
        return created

    async def unregister(self, tenant_id: str, device: str, pass_type: str, serial: str,
                         authorization: str) -> Refusal | None:
        if not _bounded((device, MAX_DEVICE)) or not await self._serves(tenant_id):
            return Refusal.UNAUTHORIZED
        async with UnitOfWork(self._database, tenant_id) as uow:
            if not self._authorized(await self._pass(uow, pass_type, serial), authorization):
                return Refusal.UNAUTHORIZED
            await uow.wallet_registrations.unregister(device, pass_type, serial)
            await uow.commit()
        return None

    async def updated_serials(self, tenant_id: str, device: str, pass_type: str, since: str) -> UpdatedSerials | None:
        """The passes of the type the device is registered for, changed after the tag; None: none."""
        if not _bounded((device, MAX_DEVICE), (pass_type, MAX_PASS_TYPE)) or not await self._serves(tenant_id):
            return None
        async with UnitOfWork(self._database, tenant_id) as uow:
            changed = await uow.wallet_registrations.updated_since(device, pass_type, wallet_passes.since_tag(since))
        if not changed:
            return None
        return UpdatedSerials([serial for serial, _ in changed],
                              wallet_passes.updated_tag(max(updated for _, updated in changed)))

    async def latest(self, tenant_id: str, pass_type: str, serial: str, authorization: str) -> PassFile | Refusal:
        if not await self._serves(tenant_id):
            return Refusal.UNAUTHORIZED
        async with UnitOfWork(self._database, tenant_id) as uow:
            issued = await self._pass(uow, pass_type, serial)
            if not self._authorized(issued, authorization):
                return Refusal.UNAUTHORIZED
            assert issued is not None
            return await self._file(uow, tenant_id, issued)

    async def download(self, tenant_id: str, token: str) -> PassFile | Refusal:
        """A new pass by the link its SMS carried, until the link expires."""
        if not 0 < len(token) <= 100 or not await self._serves(tenant_id):
            return Refusal.NOT_FOUND
        async with UnitOfWork(self._database, tenant_id) as uow:
            issued = await uow.wallet_passes.by_download(wallet_passes.download_token_hash(token))
            if issued is None or issued.download_expires_at is None or issued.download_expires_at <= self._clock():
                return Refusal.NOT_FOUND
            return await self._file(uow, tenant_id, issued)

    async def _file(self, uow: UnitOfWork, tenant_id: str, issued: IssuedPass) -> PassFile | Refusal:
        issuer = (await pass_issuers(uow, self._box, {issued.pass_type_identifier})).get(issued.pass_type_identifier)
        if issuer is None:
            return Refusal.UNAVAILABLE
        try:
            data = signed_pass(tenant_id, issued, issuer, self._box)
        except (PassSigningError, SecretBoxError) as exc:
            log.error("pass_not_signed", tenant=tenant_id, pass_type=issued.pass_type_identifier, error=str(exc))
            return Refusal.UNAVAILABLE
        return PassFile(data, issued.updated_at, issued.serial_number)
