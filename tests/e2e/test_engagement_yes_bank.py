"""The reference's scenario end to end: Yes Bank sets up an app, channels, templates and an event, binds
the event to ATM withdrawals, and a withdrawal ingested for a customer produces a real email on a
real SMTP server, and SMS and push requests on provider endpoints, with the delivery status visible."""

import asyncio

import grpc
import pytest
import trustme
from google.protobuf import field_mask_pb2
from sqlalchemy import select

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.store.event_payloads import decode
from server.store.models import DomainEventRow
from server.store.uow import UnitOfWork
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure, stream, transaction
from tests.support.yes_bank import add_customer, published_app, set_up_yes_bank

# Also on SQLite: this path goes through SQLite's own store code (tests/conftest.py).
pytestmark = pytest.mark.sqlite_too


async def deliveries_of(stubs, **filters) -> list[pb.Delivery]:
    response = await stubs.engagement.ListDeliveries(pb.ListDeliveriesRequest(**filters))
    return list(response.deliveries)


async def test_atm_withdrawal_alert_reaches_email_sms_and_push(server, settings, tenant, service_stubs, smtp_sink,
                                                               provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        await admin.engagement.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=bank.event, operation="ATM_WITHDRAWAL", min_amount="100")))

        withdrawal = transaction("t-atm-1", "lisa-customer-chk", "2500.00", "DEBIT", currency="CZK",
                                 description="ATM withdrawal Prague 1", category="VYBER")
        small = transaction("t-atm-2", "lisa-customer-chk", "50.00", "DEBIT", currency="CZK",
                            description="ATM withdrawal Prague 1", category="VYBER")
        salary = transaction("t-salary", "lisa-customer-chk", "30000.00", "CREDIT", currency="CZK",
                             description="Salary", category="PRIJEM")
        counts = await service_stubs.ingest.IngestTransactions(stream([withdrawal, small, salary]))
        assert counts.accepted_count == 3

        await run_worker(settings)

        [email] = await smtp_sink.wait_for(1)
        assert email["To"] == "lisa@example.com"
        assert email["Subject"] == "ATM withdrawal of 2,500.00 CZK"
        assert "2,500.00 CZK was withdrawn" in email.get_body(("plain",)).get_content()
        assert "ATM withdrawal Prague 1" in email.get_body(("html",)).get_content()
        [sms] = await provider_sink.wait_for("twilio", 1)
        assert sms.body["To"] == "+420601234567"
        assert sms.body["Body"].startswith(f"{tenant}: 2,500.00 CZK withdrawn at 2024-01-15 12:00")
        [push] = await provider_sink.wait_for("fcm", 1)
        assert push.body["message"]["token"] == "fcm-device-token-1"
        assert push.body["message"]["notification"]["body"] == "2,500.00 CZK"

        sent = await deliveries_of(admin, customer_id="lisa-customer")
        assert sorted((d.channel, d.state) for d in sent) == [
            (pb.CHANNEL_EMAIL, pb.SENT), (pb.CHANNEL_SMS, pb.SENT), (pb.CHANNEL_PUSH, pb.SENT)]
        assert all(d.provider_message_id and d.attempts == 1 for d in sent)

        # The same ingestion event processed again (a job run twice) sends nothing more, and neither does
        # its alert handler run once more.
        async with server.services.database.sessions() as session:
            posted = await session.scalar(select(DomainEventRow).where(DomainEventRow.kind == "TransactionsPosted"))
        assert await server.services.bus.process(posted.event_id) == 0
        async with UnitOfWork(server.services.database, tenant) as uow:
            again = await server.services.engagement.on_transactions_posted(
                uow, tenant, decode(posted.kind, posted.payload))
            await uow.commit()
        assert again is None  # nothing new recorded, nothing to hand to the queue
        await run_worker(settings)
        await asyncio.sleep(0.2)
        assert len(smtp_sink.messages) == 1 and len(provider_sink.received("twilio")) == 1
        assert len(await deliveries_of(admin, customer_id="lisa-customer")) == 3


async def test_unpublished_app_cannot_send(server, tenant, service_stubs, smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        draft = await admin.engagement.CreateApp(pb.CreateAppRequest(app=pb.App(
            display_name="Draft app", category="BANKING", platforms=[pb.PLATFORM_WEB])))
        assert draft.state == pb.App.UNPUBLISHED
        event = await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Draft event", description="Sent through an app that is not published",
            event_type=bank.event_type, app=draft.name,
            messages=[pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(
                sms=pb.SmsContent(text="Hello {{ data.name }}")))])))
        code, reason, _ = await failure(service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event.name, customer_id="lisa-customer", data={"name": "Lisa"})))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "APP_NOT_PUBLISHED")
        assert await deliveries_of(admin) == []
        await admin.engagement.PublishApp(pb.PublishAppRequest(name=draft.name))
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event.name, customer_id="lisa-customer", data={"name": "Lisa"}, request_id="r1"))
        assert [d.state for d in sent.deliveries] == [pb.QUEUED]
        again = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event.name, customer_id="lisa-customer", data={"name": "Lisa"}, request_id="r1"))
        assert [d.name for d in again.deliveries] == [d.name for d in sent.deliveries]
        # A repeat is answered with the first call's deliveries even where it could not be sent itself
        # (here its data lacks a token the message uses); a new request id with that data is refused.
        repeat_without_data = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event.name, customer_id="lisa-customer", request_id="r1"))
        assert [d.name for d in repeat_without_data.deliveries] == [d.name for d in sent.deliveries]
        code, reason, _ = await failure(service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event.name, customer_id="lisa-customer", request_id="r2")))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TEMPLATE_TOKEN_MISSING")
        assert len(await deliveries_of(admin)) == 1


async def test_smtp_sessions_setting_is_checked_and_kept(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        settings = {"host": "smtp.yesbank.example", "port": "587", "security": "STARTTLS",
                    "from_address": "alerts@yesbank.example"}
        for sessions in ("0", "21", "many"):
            code, reason, fields = await failure(admin.engagement.CreateChannelConfig(pb.CreateChannelConfigRequest(
                channel_config=pb.ChannelConfig(channel=pb.CHANNEL_EMAIL, provider="smtp",
                                                settings={**settings, "max_sessions": sessions}))))
            assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_INVALID",
                                              ["channel_config.settings.max_sessions"])
        created = await admin.engagement.CreateChannelConfig(pb.CreateChannelConfigRequest(
            channel_config=pb.ChannelConfig(channel=pb.CHANNEL_EMAIL, provider="smtp",
                                            settings={**settings, "max_sessions": "12"})))
        read = await admin.engagement.GetChannelConfig(pb.GetChannelConfigRequest(name=created.name))
        assert read.settings["max_sessions"] == "12"


async def test_templates_cannot_grow_without_bound_and_render_errors_are_clear(server, tenant, service_stubs,
                                                                               smtp_sink, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        # Refused when saved: repetition, powers and a loop in a loop could make a message of any size.
        for text in ("{{ data.a * 100000000 }}", "{{ data.a ** 99 }}",
                     "{% for a in data.a %}{% for b in data.a %}.{% endfor %}{% endfor %}"):
            code, reason, fields = await failure(admin.engagement.CreateTemplate(pb.CreateTemplateRequest(
                template=pb.Template(display_name="Big", channel=pb.CHANNEL_SMS,
                                     content=pb.MessageContent(sms=pb.SmsContent(text=text))))))
            assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "TEMPLATE_INVALID",
                                              ["template.content.sms.text"]), text
        # A name longer than its column is refused, not an INTERNAL error from PostgreSQL.
        long_name = "N" * 101
        code, reason, fields = await failure(admin.engagement.CreateTemplate(pb.CreateTemplateRequest(
            template=pb.Template(display_name=long_name, channel=pb.CHANNEL_SMS,
                                 content=pb.MessageContent(sms=pb.SmsContent(text="Hi"))))))
        assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "TEMPLATE_INVALID",
                                          ["template.display_name"])
        code, reason, fields = await failure(admin.engagement.UpdateChannelConfig(pb.UpdateChannelConfigRequest(
            channel_config=pb.ChannelConfig(name=bank.sms_config, display_name=long_name),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]))))
        assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_INVALID",
                                          ["channel_config.display_name"])

        async def event_with(text: str) -> str:
            return (await admin.engagement.CreateEvent(pb.CreateEventRequest(event=pb.Event(
                display_name="Digits", description="A loop and an operator", event_type=bank.event_type,
                app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(
                    sms=pb.SmsContent(text=text)))])))).name

        # A loop's own variable is a token of its body.
        digits = await event_with("Code {% for c in data.code %}{{ c }} {% endfor %}")
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=digits, customer_id="lisa-customer", data={"code": "1234"}))
        assert [d.state for d in sent.deliveries] == [pb.QUEUED]
        # Data that would make the message longer than 256 KiB is the request's fault ...
        code, reason, _ = await failure(service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=digits, customer_id="lisa-customer", data={"code": "9" * 140_000})))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MESSAGE_TOO_LONG")
        # ... an operator that cannot take the values is the event's (it was an INTERNAL error).
        ratio = await event_with("Ratio {{ data.a / data.b }}")
        code, reason, _ = await failure(service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=ratio, customer_id="lisa-customer", data={"a": "1", "b": "2"})))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEMPLATE_RENDER_FAILED")
        assert len(await deliveries_of(admin)) == 1


async def test_repeated_and_too_many_addresses_in_a_contact_are_refused(server, tenant, service_stubs, smtp_sink,
                                                                          provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)

        async def refused(devices: list[pb.Device]) -> list[str]:
            code, reason, fields = await failure(service_stubs.engagement.UpsertContact(pb.UpsertContactRequest(
                contact=pb.Contact(customer_id="lisa-customer", phone="+420601234567", devices=devices))))
            assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CONTACT_INVALID")
            return fields

        # The same token twice made every later trigger for the customer fail (INTERNAL: a unique key).
        phone = pb.Device(app=bank.app, platform=pb.PLATFORM_ANDROID, push_token="token-1")
        assert await refused([phone, pb.Device(app=bank.app, platform=pb.PLATFORM_APPLE, push_token="token-1")]) == [
            "contact.devices[1].push_token"]
        many = [pb.Device(app=bank.app, platform=pb.PLATFORM_ANDROID, push_token=f"token-{n}") for n in range(21)]
        assert await refused(many) == ["contact.devices"]
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=bank.notice_event, customer_id="lisa-customer", data={"note": "still sends"}))
        assert sorted(d.channel for d in sent.deliveries) == [pb.CHANNEL_EMAIL, pb.CHANNEL_SMS, pb.CHANNEL_PUSH]


async def test_a_pass_update_goes_once_to_each_device_holding_passes_of_its_type(server, settings, tenant,
                                                                                 service_stubs, provider_sink):
    certificate = trustme.CA().issue_cert("pass.com.yesbank.store")
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        app, kind = await published_app(e, "Yes Wallet", [pb.PLATFORM_APPLE], "Cards")
        await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
            channel=pb.CHANNEL_PASS, provider="apple_pass",
            settings={"base_url": provider_sink.base_url, "pass_type_identifier": "pass.com.yesbank.store"},
            secrets={"certificate_pem": certificate.cert_chain_pems[0].bytes().decode(),
                     "private_key_pem": certificate.private_key_pem.bytes().decode()})))
        event = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Card balance", description="The store card's balance changed", event_type=kind.name,
            app=app.name, messages=[pb.EventMessage(channel=pb.CHANNEL_PASS, content=pb.MessageContent(
                **{"pass": pb.PassContent(pass_type_identifier="pass.com.yesbank.store",
                                          message="Balance {{ data.balance }}")}))])))
        await add_customer(service_stubs, app.name, email="", phone="", push_token="")
        # Two store cards on one iPhone share its Wallet push token; Apple then asks it which changed.
        passes = [pb.WalletPass(pass_type_identifier="pass.com.yesbank.store", serial_number=serial,
                                push_token=token)
                  for serial, token in (("card-1", "iphone"), ("card-2", "iphone"), ("card-3", "ipad"))]
        passes.append(pb.WalletPass(pass_type_identifier="pass.com.other", serial_number="x", push_token="iphone"))
        await service_stubs.engagement.UpsertContact(pb.UpsertContactRequest(contact=pb.Contact(
            customer_id="lisa-customer", passes=passes)))
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=event.name, customer_id="lisa-customer", data={"balance": "120 CZK"}))
        assert [d.channel for d in sent.deliveries] == [pb.CHANNEL_PASS, pb.CHANNEL_PASS]
        await run_worker(settings)
    updates = provider_sink.received("apple_pass")
    assert sorted(u.path.rsplit("/", 1)[1] for u in updates) == ["ipad", "iphone"]
    assert {u.headers["apns-topic"] for u in updates} == {"pass.com.yesbank.store"}
