"""Wallet passes end to end, on both databases: a bank's "new store card" event issues a signed pass,
which reaches the customer as an email attachment (the real SMTP sink) and as an SMS download link
(the SMS provider sink), and an HTTP client playing the iPhone's Wallet registers it with the pass web
service; a "card balance" event then changes the pass, the update push reaches the device's token
(the APNs sink), and the device lists the changed serials and fetches the new pass, signed, until it
unregisters."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
import trustme
from aiohttp import web
from cryptography import x509
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.pass_web_service import pass_web_service_app
from server.store.engagement_models import DeliveryRow
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import stream, transaction
from tests.support.pkpass import open_pkpass
from tests.support.yes_bank import add_customer, published_app

PASS_TYPE = "pass.com.yesbank.store"
# The pass web service runs under `make run`, which stores into SQLite by default.
pytestmark = pytest.mark.sqlite_too


@pytest_asyncio.fixture
async def pass_web_service(server) -> AsyncIterator[str]:
    """The pass web service as `python -m server` runs it, on a free port: its base URL."""
    runner = web.AppRunner(pass_web_service_app(server.services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@dataclass
class StoreCards:
    certificate: x509.Certificate
    new_card: str  # events/{id}: PASS + EMAIL + SMS
    balance: str  # events/{id}: PASS only


async def set_up_store_cards(admin, provider_sink, smtp_sink, web_service: str) -> StoreCards:
    e = admin.engagement
    wwdr = trustme.CA(key_type=trustme.KeyType.RSA).create_child_ca()
    leaf = wwdr.issue_cert(PASS_TYPE, organization_unit_name="A1B2C3D4E5")
    app, kind = await published_app(e, "Yes Wallet", [pb.PLATFORM_APPLE], "Cards")
    await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        channel=pb.CHANNEL_PASS, provider="apple_pass",
        settings={"base_url": provider_sink.base_url, "pass_type_identifier": PASS_TYPE,
                  "web_service_url": web_service},
        secrets={"certificate_pem": leaf.cert_chain_pems[0].bytes().decode(),
                 "private_key_pem": leaf.private_key_pem.bytes().decode(),
                 "wwdr_certificate_pem": wwdr.cert_pem.bytes().decode()})))
    await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        channel=pb.CHANNEL_EMAIL, provider="smtp",
        settings={"host": smtp_sink.host, "port": str(smtp_sink.port), "security": "NONE",
                  "from_address": "cards@yesbank.example"})))
    await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        channel=pb.CHANNEL_SMS, provider="twilio",
        settings={"base_url": provider_sink.base_url, "account_sid": "AC" + "0" * 32, "from_number": "+15005550006"},
        secrets={"auth_token": "twilio-token"})))
    card = pb.EventMessage(channel=pb.CHANNEL_PASS, content=pb.MessageContent(**{"pass": pb.PassContent(
        pass_type_identifier=PASS_TYPE, message="{{ data.balance }}", label="Balance")}))
    new_card = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="Store card", description="A new Yes Bank store card", event_type=kind.name, app=app.name,
        messages=[card,
                  pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(email=pb.EmailContent(
                      subject="Your store card", text="Open the attached card to add it to Wallet."))),
                  pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                      text="Your Yes Bank store card: {{ pass.url }}")))])))
    balance = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="Card balance", description="The store card's balance changed", event_type=kind.name,
        app=app.name, messages=[card])))
    return StoreCards(x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()), new_card.name, balance.name)


async def issue_card(server, settings, tenant, service_stubs, provider_sink, smtp_sink, web_service: str,
                     balance: str) -> tuple[StoreCards, dict]:
    """The store cards set up, and the pass.json of the card a "new card" event emailed to lisa-customer."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        cards = await set_up_store_cards(admin, provider_sink, smtp_sink, web_service)
    await add_customer(service_stubs, "", push_token="")
    await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=cards.new_card, customer_id="lisa-customer", data={"balance": balance}))
    await run_worker(settings)
    [mail] = await smtp_sink.wait_for(1)
    return cards, open_pkpass(next(mail.iter_attachments()).get_content(), cards.certificate).pass_json


async def test_a_new_pass_arrives_by_email_and_sms_and_its_update_is_fetched_by_the_device(
        server, settings, tenant, service_stubs, provider_sink, smtp_sink, pass_web_service, engagectl):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        cards = await set_up_store_cards(admin, provider_sink, smtp_sink, pass_web_service)
    await add_customer(service_stubs, "", push_token="")
    issued = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=cards.new_card, customer_id="lisa-customer", data={"balance": "120 CZK"}, request_id="card-1"))
    # No device holds the pass yet: its update push has nowhere to go.
    assert sorted((d.channel, d.state) for d in issued.deliveries) == [
        (pb.CHANNEL_EMAIL, pb.QUEUED), (pb.CHANNEL_SMS, pb.QUEUED), (pb.CHANNEL_PASS, pb.SKIPPED)]
    # The same request again issues no second pass.
    again = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=cards.new_card, customer_id="lisa-customer", data={"balance": "120 CZK"}, request_id="card-1"))
    assert sorted(d.name for d in again.deliveries) == sorted(d.name for d in issued.deliveries)
    await run_worker(settings)

    # By email: the signed .pkpass attached.
    [mail] = await smtp_sink.wait_for(1)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/vnd.apple.pkpass"
    assert attachment.get_filename() == "pass.pkpass"
    emailed = open_pkpass(attachment.get_content(), cards.certificate)
    card = emailed.pass_json
    serial, token = card["serialNumber"], card["authenticationToken"]
    assert card["passTypeIdentifier"] == PASS_TYPE and card["teamIdentifier"] == "A1B2C3D4E5"
    assert card["webServiceURL"] == f"{pass_web_service}/passes/{tenant}"
    assert card["organizationName"] == tenant and card["description"] == "Store card"
    assert card["storeCard"]["primaryFields"][0] == {"key": "message", "label": "Balance", "value": "120 CZK",
                                                     "changeMessage": "%@"}
    assert len(token) >= 16
    # The pass (its token) and the link were kept sealed until sent, and are wiped now.
    async with server.services.database.sessions() as session:
        carriers = (await session.execute(select(DeliveryRow.content, DeliveryRow.sealed_content).where(
            DeliveryRow.tenant_id == tenant, DeliveryRow.channel.in_(["EMAIL", "SMS"])))).all()
    assert sorted(map(tuple, carriers)) == [({}, None), ({}, None)]

    # By SMS: a link the pass web service serves the same pass at.
    [sms] = await provider_sink.wait_for("twilio", 1)
    [link] = re.findall(r"https?://\S+", sms.body["Body"])
    assert link.startswith(f"{pass_web_service}/passes/{tenant}/downloads/")
    async with httpx.AsyncClient(base_url=card["webServiceURL"]) as wallet:
        downloaded = await wallet.get(link)
        assert downloaded.status_code == 200
        assert downloaded.headers["content-type"] == "application/vnd.apple.pkpass"
        assert open_pkpass(downloaded.content, cards.certificate).pass_json["serialNumber"] == serial
        assert (await wallet.get(link[:-4] + "abcd")).status_code == 404

        # The iPhone adds the pass and registers for its updates.
        registration = f"/v1/devices/iphone-1/registrations/{PASS_TYPE}/{serial}"
        auth = {"Authorization": f"ApplePass {token}"}
        wrong = await wallet.post(registration, json={"pushToken": "iphone-push"},
                                  headers={"Authorization": "ApplePass " + "x" * len(token)})
        assert wrong.status_code == 401
        assert (await wallet.post(registration, json={"pushToken": "iphone-push"}, headers=auth)).status_code == 201
        assert (await wallet.post(registration, json={"pushToken": "iphone-push"}, headers=auth)).status_code == 200
        listed = await wallet.get(f"/v1/devices/iphone-1/registrations/{PASS_TYPE}")
        assert listed.json()["serialNumbers"] == [serial]
        tag = listed.json()["lastUpdated"]
        assert (await wallet.get(f"/v1/devices/iphone-1/registrations/{PASS_TYPE}",
                                 params={"passesUpdatedSince": tag})).status_code == 204
        first = await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}", headers=auth)
        assert first.status_code == 200
        # The bank sees the pass issued and the device that holds it.
        shown = await engagectl("passes", "list", "--customer", "lisa-customer", "-o", "json",
                                token=server.token(tenant, Role.BANK_ADMIN, "lisa"))
        assert shown.exit_code == 0, shown.stderr
        [record] = json.loads(shown.stdout)
        assert (record["serial_number"], record["registered_devices"], record["message"]) == (serial, 1, "120 CZK")
        unchanged = await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}",
                                     headers={**auth, "If-Modified-Since": first.headers["Last-Modified"]})
        assert unchanged.status_code == 304

        # The balance changes: the pass takes it and the device gets the update push.
        updated = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=cards.balance, customer_id="lisa-customer", data={"balance": "80 CZK"}))
        assert [(d.channel, d.state) for d in updated.deliveries] == [(pb.CHANNEL_PASS, pb.QUEUED)]
        await run_worker(settings)
        [push] = await provider_sink.wait_for("apple_pass", 1)
        assert push.path.endswith("/3/device/iphone-push") and push.headers["apns-topic"] == PASS_TYPE

        # ... and asks which passes changed since its tag, then fetches the new one.
        changed = await wallet.get(f"/v1/devices/iphone-1/registrations/{PASS_TYPE}",
                                   params={"passesUpdatedSince": tag})
        assert changed.status_code == 200 and changed.json()["serialNumbers"] == [serial]
        assert changed.json()["lastUpdated"] != tag
        fetched = await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}",
                                   headers={**auth, "If-Modified-Since": first.headers["Last-Modified"]})
        assert fetched.status_code == 200
        new = open_pkpass(fetched.content, cards.certificate).pass_json
        assert new["serialNumber"] == serial and new["authenticationToken"] == token
        assert new["storeCard"]["primaryFields"][0]["value"] == "80 CZK"
        assert (await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}",
                                 headers={"Authorization": "ApplePass nope"})).status_code == 401
        assert (await wallet.post("/v1/log", json={"logs": ["Web service error: none"]})).status_code == 200

        # Unregistered, the device gets no more pushes.
        assert (await wallet.delete(registration, headers=auth)).status_code == 200
        assert (await wallet.get(f"/v1/devices/iphone-1/registrations/{PASS_TYPE}")).status_code == 204
        after = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=cards.balance, customer_id="lisa-customer", data={"balance": "60 CZK"}))
        assert [(d.channel, d.state) for d in after.deliveries] == [(pb.CHANNEL_PASS, pb.SKIPPED)]


async def test_another_tenant_cannot_reach_a_pass_with_its_token(
        server, settings, tenant, service_stubs, provider_sink, smtp_sink, pass_web_service):
    _, card = await issue_card(server, settings, tenant, service_stubs, provider_sink, smtp_sink, pass_web_service,
                               "1 CZK")
    other = (await server.services.tenants.create("bank-other-wallet")).tenant_id
    auth = {"Authorization": f"ApplePass {card['authenticationToken']}"}
    async with httpx.AsyncClient(base_url=f"{pass_web_service}/passes/{other}") as wallet:
        path = f"/v1/passes/{PASS_TYPE}/{card['serialNumber']}"
        assert (await wallet.get(path, headers=auth)).status_code == 401
        registration = f"/v1/devices/d/registrations/{PASS_TYPE}/{card['serialNumber']}"
        assert (await wallet.post(registration, json={"pushToken": "p"}, headers=auth)).status_code == 401
    async with httpx.AsyncClient(base_url=f"{pass_web_service}/passes/no-such-tenant") as wallet:
        assert (await wallet.get(f"/v1/passes/{PASS_TYPE}/{card['serialNumber']}", headers=auth)).status_code == 401


async def test_a_batch_issues_one_pass_per_customer_once(server, settings, tenant, service_stubs, provider_sink,
                                                         smtp_sink, pass_web_service):
    """BatchTriggerEvents (the path of transaction alerts and insight notifications too): each customer
    gets their own pass; the batch sent again issues none; a batch of updates changes each pass."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        cards = await set_up_store_cards(admin, provider_sink, smtp_sink, pass_web_service)
    for customer in ("c-1", "c-2"):
        await add_customer(service_stubs, "", customer, email=f"{customer}@example.com", phone="", push_token="")
    batch = pb.BatchTriggerEventsRequest(requests=[
        pb.TriggerEventRequest(event=cards.new_card, customer_id=customer, data={"balance": "5 CZK"},
                               request_id=f"cards-{customer}") for customer in ("c-1", "c-2")])
    await service_stubs.engagement.BatchTriggerEvents(batch)
    await service_stubs.engagement.BatchTriggerEvents(batch)
    await run_worker(settings)
    mails = await smtp_sink.wait_for(2)
    cards_by_customer = {str(mail["To"]): open_pkpass(next(mail.iter_attachments()).get_content(),
                                                      cards.certificate).pass_json for mail in mails}
    assert sorted(cards_by_customer) == ["c-1@example.com", "c-2@example.com"]
    assert len({card["serialNumber"] for card in cards_by_customer.values()}) == 2
    listed = await service_stubs.engagement.ListWalletPasses(pb.ListWalletPassesRequest())
    assert sorted(p.customer_id for p in listed.wallet_passes) == ["c-1", "c-2"]
    # A batch of balances changes every customer's pass, each with its own.
    await service_stubs.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=[
        pb.TriggerEventRequest(event=cards.balance, customer_id=customer, data={"balance": f"{n} CZK"})
        for n, customer in ((7, "c-1"), (9, "c-2"))]))
    listed = await service_stubs.engagement.ListWalletPasses(pb.ListWalletPassesRequest())
    assert sorted((p.customer_id, p.message) for p in listed.wallet_passes) == [("c-1", "7 CZK"), ("c-2", "9 CZK")]


async def test_the_pass_web_service_refuses_what_no_wallet_sends(server, settings, tenant, service_stubs,
                                                                 provider_sink, smtp_sink, pass_web_service):
    """Bodies that are not a wallet's, identifiers PostgreSQL's text cannot hold or too long for their
    columns, and a disabled bank: a clear 4xx each, never a 500."""
    _, card = await issue_card(server, settings, tenant, service_stubs, provider_sink, smtp_sink, pass_web_service,
                               "1 CZK")
    serial, auth = card["serialNumber"], {"Authorization": f"ApplePass {card['authenticationToken']}"}
    registration = f"/v1/devices/iphone/registrations/{PASS_TYPE}/{serial}"
    async with httpx.AsyncClient(base_url=card["webServiceURL"]) as wallet:
        # Not a registration body: 400; a push token PostgreSQL cannot store: refused as no wallet's (401).
        for body, status in ((b"", 400), (b"[1]", 400), (b"{", 400), (b'{"pushToken": 5}', 400),
                             (b"[" * 10_000, 400), (b'{"pushToken": "a\\u0000b"}', 401)):
            answer = await wallet.post(registration, content=body, headers=auth)
            assert answer.status_code == status, (body[:20], answer.status_code)
        assert (await wallet.post(registration, content=b"x" * 70_000, headers=auth)).status_code == 413
        for path in (f"/v1/devices/ip%00hone/registrations/{PASS_TYPE}/{serial}",
                     f"/v1/devices/{'d' * 200}/registrations/{PASS_TYPE}/{serial}",
                     f"/v1/devices/iphone/registrations/{PASS_TYPE}/{serial}%00"):
            assert (await wallet.post(path, json={"pushToken": "p"}, headers=auth)).status_code == 401
            assert (await wallet.delete(path, headers=auth)).status_code == 401
        assert (await wallet.get(f"/v1/passes/{PASS_TYPE}%00/{serial}", headers=auth)).status_code == 401
        assert (await wallet.get(f"/v1/devices/ip%00hone/registrations/{PASS_TYPE}")).status_code == 204
        assert (await wallet.get("/downloads/%00")).status_code == 404
        assert (await wallet.post("/v1/log", content=b"[]")).status_code == 400
        assert (await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}", headers=auth)).status_code == 200
        await server.services.tenants.disable(tenant)
        assert (await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}", headers=auth)).status_code == 401
        assert (await wallet.post(registration, json={"pushToken": "p"}, headers=auth)).status_code == 401
    async with httpx.AsyncClient(base_url=f"{pass_web_service}/passes/%00") as wallet:
        assert (await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}", headers=auth)).status_code == 401


async def test_a_card_payment_ingested_updates_the_pass_on_the_device(server, settings, tenant, service_stubs,
                                                                      provider_sink, smtp_sink, pass_web_service):
    """A transaction alert bound to a PASS-only event: the payment ingested goes through the worker (the
    bus handler records the update, dispatch pushes), and the device fetches the pass with its new
    balance."""
    cards, card = await issue_card(server, settings, tenant, service_stubs, provider_sink, smtp_sink,
                                   pass_web_service, "0 CZK")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        like = await admin.engagement.GetEvent(pb.GetEventRequest(name=cards.balance))
        content = pb.PassContent(pass_type_identifier=PASS_TYPE,
                                 message="Balance {{ transaction.balance }} {{ transaction.currency }}")
        balance = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Card payment", description="Paid with the card", event_type=like.event_type, app=like.app,
            messages=[pb.EventMessage(channel=pb.CHANNEL_PASS, content=pb.MessageContent(**{"pass": content}))])))
        await admin.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=balance.name, directions=["DEBIT"])))
    serial, auth = card["serialNumber"], {"Authorization": f"ApplePass {card['authenticationToken']}"}
    async with httpx.AsyncClient(base_url=card["webServiceURL"]) as wallet:
        registered = await wallet.post(f"/v1/devices/iphone/registrations/{PASS_TYPE}/{serial}",
                                       json={"pushToken": "iphone-push"}, headers=auth)
        assert registered.status_code == 201
        await service_stubs.ingest.IngestTransactions(stream([
            transaction("t-1", "lisa-customer-chk", "1000.00", "CREDIT", currency="CZK"),
            transaction("t-2", "lisa-customer-chk", "250.00", "DEBIT", currency="CZK")]))
        await run_worker(settings)
        [push] = await provider_sink.wait_for("apple_pass", 1)
        assert push.path.endswith("/3/device/iphone-push")
        fetched = await wallet.get(f"/v1/passes/{PASS_TYPE}/{serial}", headers=auth)
        assert fetched.status_code == 200
        shown = open_pkpass(fetched.content, cards.certificate).pass_json["storeCard"]["primaryFields"][0]["value"]
        assert shown == "Balance 750.00 CZK"

