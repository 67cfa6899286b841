"""What the set-up RPCs of EngagementService do, beyond their empty or not-found answers: apps, event
types, contacts, templates and events read back with their content, paged, and changed; a changed
event sends its new messages; a deleted transaction alert or insight notification sends nothing more.
One bank per test, through the real server, the arq worker and the SMTP and provider sinks, counting
every request they receive."""

import grpc
from google.protobuf import field_mask_pb2

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure, stream, transaction
from tests.support.pages import every_page
from tests.support.yes_bank import add_customer, set_up_yes_bank


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def test_apps_event_types_contacts_templates_and_events_read_and_change(server, settings, tenant,
                                                                              service_stubs, smtp_sink,
                                                                              provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)

        # Apps: read with their content, listed two to a page, changed field by field.
        wallet = await e.CreateApp(pb.CreateAppRequest(app=pb.App(display_name="Yes Wallet", category="FINANCE",
                                                                  platforms=[pb.PLATFORM_APPLE])))
        business = await e.CreateApp(pb.CreateAppRequest(app=pb.App(display_name="Yes Business", category="BANKING",
                                                                    platforms=[pb.PLATFORM_WEB])))
        read = await e.GetApp(pb.GetAppRequest(name=bank.app))
        assert (read.display_name, read.category, read.state) == ("Yes Bank", "BANKING", pb.App.PUBLISHED)
        assert list(read.platforms) == [pb.PLATFORM_APPLE, pb.PLATFORM_ANDROID, pb.PLATFORM_WINDOWS, pb.PLATFORM_WEB]
        assert read.name == f"apps/{read.application_id}" and read.create_time.seconds > 0
        apps, pages = await every_page(e.ListApps, pb.ListAppsRequest, "apps", 2)
        assert pages == 2
        assert sorted(a.display_name for a in apps) == ["Yes Bank", "Yes Business", "Yes Wallet"]
        assert {a.name: a.state for a in apps} == {bank.app: pb.App.PUBLISHED, wallet.name: pb.App.UNPUBLISHED,
                                                   business.name: pb.App.UNPUBLISHED}
        renamed = await e.UpdateApp(pb.UpdateAppRequest(
            app=pb.App(name=wallet.name, display_name="Yes Wallet 2", category="IGNORED",
                       platforms=[pb.PLATFORM_APPLE, pb.PLATFORM_ANDROID]),
            update_mask=mask("display_name", "platforms")))
        assert (renamed.display_name, renamed.category, list(renamed.platforms)) == (
            "Yes Wallet 2", "FINANCE", [pb.PLATFORM_APPLE, pb.PLATFORM_ANDROID])
        recategorised = await e.UpdateApp(pb.UpdateAppRequest(app=pb.App(name=wallet.name, category="LIFESTYLE"),
                                                              update_mask=mask("category")))
        assert (recategorised.display_name, recategorised.category) == ("Yes Wallet 2", "LIFESTYLE")
        assert (await e.GetApp(pb.GetAppRequest(name=wallet.name))) == recategorised
        assert recategorised.application_id == wallet.application_id
        assert recategorised.state == pb.App.UNPUBLISHED  # an update does not publish

        # Event types: the set-up's and one more, one to a page.
        cards = await e.CreateEventType(pb.CreateEventTypeRequest(event_type=pb.EventType(
            display_name="Cards", description="Card notices")))
        kinds, pages = await every_page(e.ListEventTypes, pb.ListEventTypesRequest, "event_types", 1)
        assert pages == 2
        assert sorted((k.name, k.display_name) for k in kinds) == sorted(
            [(bank.event_type, "Yes Bank"), (cards.name, "Cards")])
        assert next(k for k in kinds if k.name == cards.name).description == "Card notices"

        # Contacts: what UpsertContact stored, for the service and for the customer themself only.
        contact = await service_stubs.engagement.GetContact(pb.GetContactRequest(customer_id="lisa-customer"))
        assert (contact.customer_id, contact.email, contact.phone) == ("lisa-customer", "lisa@example.com",
                                                                       "+420601234567")
        assert [(d.app, d.platform, d.push_token) for d in contact.devices] == [
            (bank.app, pb.PLATFORM_ANDROID, "fcm-device-token-1")]
        async with server.stubs(server.token(tenant, Role.USER, "lisa-customer")) as lisa:
            assert await lisa.engagement.GetContact(pb.GetContactRequest()) == contact
            code, _, _ = await failure(lisa.engagement.GetContact(pb.GetContactRequest(customer_id="someone-else")))
            assert code == grpc.StatusCode.PERMISSION_DENIED
        code, reason, _ = await failure(e.GetContact(pb.GetContactRequest(customer_id="nobody")))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CONTACT_NOT_FOUND")

        # Templates: by channel, paged, read and changed; an event copies the content of its time.
        [sms_template] = (await e.ListTemplates(pb.ListTemplatesRequest(channel=pb.CHANNEL_SMS))).templates
        assert sms_template.display_name == "ATM withdrawal SMS"
        templates, pages = await every_page(e.ListTemplates, pb.ListTemplatesRequest, "templates", 2)
        assert pages == 2
        assert sorted(t.channel for t in templates) == [pb.CHANNEL_EMAIL, pb.CHANNEL_SMS, pb.CHANNEL_PUSH]
        read_template = await e.GetTemplate(pb.GetTemplateRequest(name=sms_template.name))
        assert read_template == sms_template
        assert read_template.content.sms.text.startswith("{{ bank.name }}: {{ transaction.amount }}")
        changed = await e.UpdateTemplate(pb.UpdateTemplateRequest(
            template=pb.Template(name=sms_template.name, display_name="Card notice SMS",
                                 content=pb.MessageContent(sms=pb.SmsContent(text="Card: {{ data.note }}"))),
            update_mask=mask("display_name", "content")))
        assert (changed.display_name, changed.content.sms.text, changed.content.sms.encoding,
                changed.content.sms.segments) == ("Card notice SMS", "Card: {{ data.note }}", "GSM_7", 1)
        assert await e.GetTemplate(pb.GetTemplateRequest(name=sms_template.name)) == changed
        atm_event = await e.GetEvent(pb.GetEventRequest(name=bank.event))
        assert [m.content.sms.text for m in atm_event.messages if m.channel == pb.CHANNEL_SMS] == [
            read_template.content.sms.text]  # the event keeps the content it was created with

        # Events: paged, read with their messages, changed; the change is what goes out.
        events, pages = await every_page(e.ListEvents, pb.ListEventsRequest, "events", 1)
        assert pages == 2
        assert sorted(ev.display_name for ev in events) == ["ATM withdrawal", "Account notice"]
        assert (atm_event.display_name, atm_event.event_type, atm_event.app, atm_event.owner) == (
            "ATM withdrawal", bank.event_type, bank.app, "lisa")
        assert [m.channel for m in atm_event.messages] == [pb.CHANNEL_EMAIL, pb.CHANNEL_SMS, pb.CHANNEL_PUSH]
        assert atm_event.messages[1].template == sms_template.name
        notice = await e.UpdateEvent(pb.UpdateEventRequest(
            event=pb.Event(name=bank.notice_event, description="Card notices by SMS only", event_type=cards.name,
                           messages=[pb.EventMessage(channel=pb.CHANNEL_SMS, template=sms_template.name)]),
            update_mask=mask("description", "event_type", "messages")))
        assert (notice.display_name, notice.description, notice.event_type) == (
            "Account notice", "Card notices by SMS only", cards.name)
        assert [(m.channel, m.template, m.content.sms.text) for m in notice.messages] == [
            (pb.CHANNEL_SMS, sms_template.name, "Card: {{ data.note }}")]
        assert await e.GetEvent(pb.GetEventRequest(name=bank.notice_event)) == notice
        sent = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=notice.name, customer_id="lisa-customer", data={"note": "new card on its way"}))
        assert [d.channel for d in sent.deliveries] == [pb.CHANNEL_SMS]
        await run_worker(settings)
        [sms] = await provider_sink.wait_for("twilio", 1)
        assert sms.body["Body"] == "Card: new card on its way"
        assert smtp_sink.messages == [] and provider_sink.received("fcm") == []


async def test_transaction_alerts_and_insight_notifications_listed_and_deleted(server, settings, tenant,
                                                                               service_stubs, smtp_sink,
                                                                               provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app)
        atm = await e.CreateTransactionAlert(pb.CreateTransactionAlertRequest(transaction_alert=pb.TransactionAlert(
            event=bank.event, operation="ATM_WITHDRAWAL", min_amount="100")))
        salary = await e.CreateTransactionAlert(pb.CreateTransactionAlertRequest(
            transaction_alert=pb.TransactionAlert(event=bank.event, directions=["CREDIT"], categories=["PRIJEM"],
                                                  min_amount="1000", account_types=["CHECKING"])))
        alerts, pages = await every_page(e.ListTransactionAlerts, pb.ListTransactionAlertsRequest,
                                         "transaction_alerts", 1)
        assert pages == 2
        assert {a.name: a for a in alerts} == {atm.name: atm, salary.name: salary}
        assert (atm.operation, atm.min_amount, atm.event) == ("ATM_WITHDRAWAL", "100", bank.event)
        assert (list(salary.directions), list(salary.categories), list(salary.account_types)) == (
            ["CREDIT"], ["PRIJEM"], ["CHECKING"])

        await e.DeleteTransactionAlert(pb.DeleteTransactionAlertRequest(name=atm.name))
        assert list((await e.ListTransactionAlerts(pb.ListTransactionAlertsRequest())).transaction_alerts) == [salary]
        code, reason, _ = await failure(e.DeleteTransactionAlert(pb.DeleteTransactionAlertRequest(name=atm.name)))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "TRANSACTION_ALERT_NOT_FOUND")

        # Insight notifications: the large deposit's stays, the large withdrawal's is deleted.
        push_event = await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
            display_name="Large movement", description="Push for large movements", event_type=bank.event_type,
            app=bank.app, messages=[pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(
                push=pb.PushContent(title="{{ insight.name }}", body="{{ insight.figures.amount }}")))])))
        deposit = await e.CreateInsightNotification(pb.CreateInsightNotificationRequest(
            insight_notification=pb.InsightNotification(insight_name="LARGE_DEPOSIT", event=push_event.name)))
        withdrawal = await e.CreateInsightNotification(pb.CreateInsightNotificationRequest(
            insight_notification=pb.InsightNotification(insight_name="LARGE_WITHDRAWAL", event=push_event.name)))
        notifications, pages = await every_page(e.ListInsightNotifications, pb.ListInsightNotificationsRequest,
                                                "insight_notifications", 1)
        assert pages == 2
        assert sorted((n.insight_name, n.event) for n in notifications) == [
            ("LARGE_DEPOSIT", push_event.name), ("LARGE_WITHDRAWAL", push_event.name)]
        assert {n.name for n in notifications} == {deposit.name, withdrawal.name}
        await e.DeleteInsightNotification(pb.DeleteInsightNotificationRequest(name=withdrawal.name))
        assert list((await e.ListInsightNotifications(pb.ListInsightNotificationsRequest())).insight_notifications
                    ) == [deposit]
        code, reason, _ = await failure(e.DeleteInsightNotification(pb.DeleteInsightNotificationRequest(
            name=withdrawal.name)))
        assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "INSIGHT_NOTIFICATION_NOT_FOUND")

        # An ATM withdrawal (its alert deleted, and a large withdrawal whose notification is deleted)
        # sends nothing; the salary sends its alert on three channels and its large-deposit push.
        await service_stubs.ingest.IngestTransactions(stream([
            transaction("salary", "lisa-customer-chk", "30000.00", "CREDIT", currency="CZK", description="Salary",
                        category="PRIJEM"),
            transaction("atm", "lisa-customer-chk", "2500.00", "DEBIT", currency="CZK",
                        description="ATM withdrawal Prague 1", category="VYBER")]))
        await run_worker(settings)
        [email] = await smtp_sink.wait_for(1)
        assert email["Subject"] == "ATM withdrawal of 30,000.00 CZK"  # the alert's event, for the salary
        [sms] = await provider_sink.wait_for("twilio", 1)
        assert sms.body["Body"].startswith(f"{tenant}: 30,000.00 CZK")
        pushes = await provider_sink.wait_for("fcm", 2)
        assert sorted(p.body["message"]["notification"]["body"] for p in pushes) == ["30,000.00 CZK",
                                                                                     "30000.0000"]
        await run_worker(settings)
        assert (len(smtp_sink.messages), len(provider_sink.received("twilio")),
                len(provider_sink.received("fcm"))) == (1, 1, 2)
