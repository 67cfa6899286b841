"""Sending an event's PASS message (part of fan-out): each pass of that type the customer holds takes
the newly rendered content and a new lastUpdated, and the devices registered for it get Apple's
update push (the apple_pass deliveries), after which they fetch the pass from the pass web service.
A customer holding none gets a new pass when the event also has an email or SMS message to carry it:
the email carries the signed .pkpass as an attachment, the SMS can link to it with {{ pass.url }}."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from server.domain.engagement import wallet_passes
from server.domain.engagement.entities import Channel, Contact, Delivery, DeliveryState, WalletPass
from server.domain.engagement.wallet_passes import ATTACHMENT_PREFIX, IssuedPass, PassContent, PassSigningError
from server.domain.errors import FailedPrecondition
from server.domain.ids import new_id
from server.security.secret_box import SecretBox
from server.services.wallet_passes import PassIssuer, pass_issuers
from server.store.uow import UnitOfWork

# How long the download link of a new pass (its SMS) works.
DOWNLOAD_LINK_LIFETIME = dt.timedelta(days=7)
# Channels that can carry a new pass to its customer.
CARRIERS = frozenset({Channel.EMAIL, Channel.SMS})


@dataclass(frozen=True)
class WalletView:
    """What sending PASS messages needs of the store, read once for a batch of triggers: the customers'
    passes of the types sent, the push tokens registered for each, and who signs each type."""

    tenant_id: str = ""
    held: Mapping[str, list[IssuedPass]] = field(default_factory=dict)  # customer -> passes
    tokens: Mapping[tuple[str, str], list[str]] = field(default_factory=dict)  # (type, serial) -> push tokens
    issuers: Mapping[str, PassIssuer] = field(default_factory=dict)


@dataclass
class PassPlan:
    """What a trigger does to passes: writes to record with its deliveries (only when it is new), the
    `pass` tokens, the registered devices to push to, and the new passes' files for its emails."""

    writes: list[tuple[IssuedPass, bool]] = field(default_factory=list)  # (pass, is new)
    tokens: dict[str, str] = field(default_factory=dict)
    devices: list[WalletPass] = field(default_factory=list)
    attachments: list[bytes] = field(default_factory=list)


def pass_types(channels: frozenset[Channel] | None, messages: list[tuple[Channel, Mapping[str, str]]]) -> set[str]:
    return {content.get("pass_type_identifier", "") for channel, content in messages
            if channel is Channel.PASS and (channels is None or Channel.PASS in channels)}


async def load_wallet(uow: UnitOfWork, box: SecretBox, wanted: Mapping[str, set[str]]) -> WalletView:
    """`wanted`: customer -> the pass types their triggers send. Three reads, none when nothing is wanted."""
    types = {t for kinds in wanted.values() for t in kinds}
    if not types:
        return WalletView()
    held: dict[str, list[IssuedPass]] = {}
    for issued in await uow.wallet_passes.of_customers(set(wanted), types):
        held.setdefault(issued.customer_id, []).append(issued)
    tokens = await uow.wallet_registrations.push_tokens(
        {(p.pass_type_identifier, p.serial_number) for passes in held.values() for p in passes})
    return WalletView(uow.tenant_id, held, tokens, await pass_issuers(uow, box, types))


def plan_passes(customer_id: str, rendered: Sequence[Mapping[str, str]], carried: bool, wallet: WalletView,
                box: SecretBox, now: dt.datetime, *, organization: str, description: str) -> PassPlan:
    """`rendered`: the trigger's PASS messages, rendered; `carried`: whether it also sends an email or
    SMS that could carry a new pass."""
    plan = PassPlan()
    for content in rendered:
        pass_type = content.get("pass_type_identifier", "")
        parts = {"message": content.get("message", ""), "label": content.get("label", ""),
                 "organization_name": organization, "description": description}
        held = [p for p in wallet.held.get(customer_id, ()) if p.pass_type_identifier == pass_type]
        for issued in held:
            plan.writes.append((replace(issued, parts=parts, updated_at=_next_version(issued.updated_at, now)), False))
            plan.devices += [WalletPass(pass_type, issued.serial_number, token)
                             for token in wallet.tokens.get((pass_type, issued.serial_number), ())]
        if held:
            plan.tokens.setdefault("serial_number", held[0].serial_number)
            continue
        issuer = wallet.issuers.get(pass_type)
        if not carried or issuer is None or not issuer.web_service_base:
            continue
        token, download = wallet_passes.new_authentication_token(), secrets.token_urlsafe(32)
        issued = IssuedPass(pass_type, new_id(), customer_id, box.seal({"token": token}), parts, now, now,
                            wallet_passes.download_token_hash(download), now + DOWNLOAD_LINK_LIFETIME)
        try:
            content_of_pass = PassContent(pass_type, issued.serial_number, token,
                                          issuer.web_service_url(wallet.tenant_id), parts)
            plan.attachments.append(wallet_passes.bundle(content_of_pass, issuer.signer))
        except PassSigningError as exc:
            raise FailedPrecondition("PASS_SIGNING_FAILED", f"passes of type '{pass_type}' cannot be signed: {exc}",
                                     metadata={"pass_type_identifier": pass_type}) from exc
        plan.writes.append((issued, True))
        if "url" not in plan.tokens:
            plan.tokens.update(url=issuer.download_url(wallet.tenant_id, download),
                               serial_number=issued.serial_number)
    plan.tokens.setdefault("url", "")
    plan.tokens.setdefault("serial_number", "")
    return plan


def _next_version(previous: dt.datetime, now: dt.datetime) -> dt.datetime:
    """A pass's new lastUpdated: now, but in a later whole second than the version before. Wallet asks
    with If-Modified-Since, an HTTP date of whole seconds: two versions within one second would
    answer the second one's fetch with 304 Not Modified."""
    return max(now, previous.replace(microsecond=0) + dt.timedelta(seconds=1))


def with_devices(contact: Contact | None, customer_id: str, plan: PassPlan) -> Contact | None:
    """The contact with the devices registered for the customer's passes among its Wallet passes, which
    fan-out sends a PASS message's update push to."""
    if not plan.devices:
        return contact
    contact = contact or Contact(customer_id)
    return replace(contact, passes=[*contact.passes, *plan.devices])


def attach(deliveries: list[Delivery], plan: PassPlan, box: SecretBox) -> None:
    """Puts the new passes' files into the trigger's queued emails. The emails and SMS that carry a new
    pass are stored sealed, as one-time passwords are, and wiped once sent: a pass holds its
    authentication token, and a download link is as good as the pass while it works."""
    if not plan.attachments:
        return
    files = {f"{ATTACHMENT_PREFIX}{n}": base64.b64encode(data).decode()
             for n, data in enumerate(plan.attachments, start=1)}
    for delivery in deliveries:
        if delivery.channel not in CARRIERS or delivery.state is not DeliveryState.QUEUED or not delivery.content:
            continue
        content = {**delivery.content, **files} if delivery.channel is Channel.EMAIL else delivery.content
        delivery.sealed_content, delivery.content = box.seal(content), {}


async def save(uow: UnitOfWork, *plans: PassPlan) -> None:
    """Writes the plans' passes (of triggers recorded now): the new ones in one flush, the changed ones
    in one statement."""
    writes = [write for plan in plans for write in plan.writes]
    await uow.wallet_passes.add(*[issued for issued, new in writes if new])
    await uow.wallet_passes.update_parts(*[issued for issued, new in writes if not new])
