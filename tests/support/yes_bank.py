"""The reference's "Yes Bank" set-up through EngagementService, as a bank admin does it: an app, an
event type, email/SMS/push channels pointing at the test sinks, templates, an event, a customer's
contact, and a transaction alert on ATM withdrawals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from server.domain.engagement.entities import Contact
from server.domain.ingest.model import Customer
from server.store.db import Database
from server.store.uow import UnitOfWork
from tests.support.builders import account, customer

SMS_TEMPLATE = ("{{ bank.name }}: {{ transaction.amount }} {{ transaction.currency }} withdrawn at "
                "{{ transaction.time }}.")


@dataclass
class YesBank:
    app: str
    event_type: str
    event: str
    email_config: str
    sms_config: str
    push_config: str
    # An event whose messages need only {{ data.note }}: for triggering by hand.
    notice_event: str


async def published_app(engagement, display_name: str, platforms: list[int],
                        event_type: str) -> tuple[pb.App, pb.EventType]:
    """A published app and an event type, the first two steps of every set-up that sends."""
    app = await engagement.CreateApp(pb.CreateAppRequest(app=pb.App(display_name=display_name, category="BANKING",
                                                                    platforms=platforms)))
    await engagement.PublishApp(pb.PublishAppRequest(name=app.name))
    kind = await engagement.CreateEventType(pb.CreateEventTypeRequest(event_type=pb.EventType(
        display_name=event_type)))
    return app, kind


async def set_up_yes_bank(admin, *, smtp_host: str, smtp_port: int, provider_base_url: str,
                          sms_provider: str = "twilio") -> YesBank:
    e = admin.engagement
    app, event_type = await published_app(
        e, "Yes Bank", [pb.PLATFORM_APPLE, pb.PLATFORM_ANDROID, pb.PLATFORM_WINDOWS, pb.PLATFORM_WEB], "Yes Bank")
    email = await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        display_name="Yes Bank mail", channel=pb.CHANNEL_EMAIL, provider="smtp",
        settings={"host": smtp_host, "port": str(smtp_port), "security": "NONE",
                  "from_address": "alerts@yesbank.example"})))
    sms_settings = {"twilio": ({"base_url": provider_base_url, "account_sid": "AC" + "0" * 32,
                                "from_number": "+15005550006"}, {"auth_token": "twilio-token"}),
                    "vonage": ({"base_url": provider_base_url, "api_key": "vonage-key", "from": "YesBank"},
                               {"api_secret": "vonage-secret"}),
                    "clickatell": ({"base_url": provider_base_url}, {"api_key": "clickatell-key"})}
    settings, secrets = sms_settings[sms_provider]
    sms = await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        display_name="Yes Bank SMS", channel=pb.CHANNEL_SMS, provider=sms_provider, settings=settings,
        secrets=secrets)))
    push = await e.CreateChannelConfig(pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        display_name="Yes Bank push", channel=pb.CHANNEL_PUSH, provider="fcm",
        settings={"base_url": provider_base_url, "project_id": "yes-bank"},
        secrets={"access_token": "fcm-access-token"})))
    email_template = await e.CreateTemplate(pb.CreateTemplateRequest(template=pb.Template(
        display_name="ATM withdrawal email", channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(
            email=pb.EmailContent(
                subject="ATM withdrawal of {{ transaction.amount }} {{ transaction.currency }}",
                text="Dear customer, {{ transaction.amount }} {{ transaction.currency }} was withdrawn on "
                     "{{ transaction.time }}. Balance: {{ transaction.balance }}.",
                html="<p>{{ transaction.amount }} {{ transaction.currency }} withdrawn: "
                     "{{ transaction.description }}</p>")))))
    sms_template = await e.CreateTemplate(pb.CreateTemplateRequest(template=pb.Template(
        display_name="ATM withdrawal SMS", channel=pb.CHANNEL_SMS,
        content=pb.MessageContent(sms=pb.SmsContent(text=SMS_TEMPLATE)))))
    push_template = await e.CreateTemplate(pb.CreateTemplateRequest(template=pb.Template(
        display_name="ATM withdrawal push", channel=pb.CHANNEL_PUSH, content=pb.MessageContent(
            push=pb.PushContent(title="ATM withdrawal", body="{{ transaction.amount }} {{ transaction.currency }}")))))
    event = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="ATM withdrawal", description="A customer withdrew cash at an ATM",
        event_type=event_type.name, app=app.name,
        messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, template=email_template.name),
                  pb.EventMessage(channel=pb.CHANNEL_SMS, template=sms_template.name),
                  pb.EventMessage(channel=pb.CHANNEL_PUSH, template=push_template.name)])))
    notice = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name="Account notice", description="A notice sent by hand", event_type=event_type.name, app=app.name,
        messages=[pb.EventMessage(channel=pb.CHANNEL_EMAIL, content=pb.MessageContent(email=pb.EmailContent(
                      subject="Notice", text="Notice: {{ data.note }}"))),
                  pb.EventMessage(channel=pb.CHANNEL_SMS, content=pb.MessageContent(sms=pb.SmsContent(
                      text="Notice: {{ data.note }}"))),
                  pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(push=pb.PushContent(
                      title="Notice", body="{{ data.note }}")))])))
    return YesBank(app.name, event_type.name, event.name, email.name, sms.name, push.name, notice.name)


async def add_customer(service, app: str, customer_id: str = "lisa-customer", *, email: str = "lisa@example.com",
                       phone: str = "+420601234567", push_token: str = "fcm-device-token-1",
                       preferences: pb.Preferences | None = None, with_account: bool = True) -> None:
    if with_account:
        await service.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer(customer_id,
                                                                                           segment="retail")))
        await service.ingest.UpsertAccount(ingest.UpsertAccountRequest(account=account(
            f"{customer_id}-chk", customer_id, "CZK", account_name="Current account")))
    devices = [pb.Device(app=app, platform=pb.PLATFORM_ANDROID, push_token=push_token)] if push_token else []
    await service.engagement.UpsertContact(pb.UpsertContactRequest(contact=pb.Contact(
        customer_id=customer_id, email=email, phone=phone, devices=devices, preferences=preferences)))


async def store_reachable_customers(database: Database, tenant: str, contacts: list[tuple[str, str, str]]) -> None:
    """(customer id, email, phone) each stored with its contact in one transaction, straight into the
    store: for runs of thousands, where a call per customer would be most of the run."""
    now = dt.datetime.now(dt.UTC)
    async with UnitOfWork(database, tenant) as uow:
        await uow.customers.upsert_many([Customer(customer_id) for customer_id, _, _ in contacts], now)
        for customer_id, email, phone in contacts:
            await uow.contacts.save(Contact(customer_id, email=email, phone=phone, updated_at=now))
        await uow.commit()
