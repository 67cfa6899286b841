"""Bank notifications through gRPC and the real worker on Redis, on both databases: items created by
`notify` (as the trigger runtime will) listed, acknowledged and assigned by bank admins; each POSTed to
a local webhook that checks every signature and counts every request; a 500 retried, a dead endpoint
FAILED after its last attempt with every attempt kept; another bank sees none of it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest_asyncio
from aiohttp import web

from engage.triggers.v1 import bank_notifications_service_pb2 as pb
from server.domain.auth import Role
from server.domain.triggers.notifications import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    NewBankNotification,
    verify,
)
from server.services.triggers import webhooks
from server.store.uow import UnitOfWork
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import failure
from tests.support.ports import free_port

SECRET = "s" * 16 + uuid.uuid4().hex


@dataclass
class Request:
    headers: dict[str, str]
    body: str
    signed: bool


@dataclass
class WebhookSink:
    """A bank's endpoint on 127.0.0.1: answers the scripted statuses (then 200), records every request
    and whether its signature verifies with SECRET."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/engage/notifications"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = dict(request.headers)
        signed = all(h in headers for h in (TIMESTAMP_HEADER, SIGNATURE_HEADER)) and verify(SECRET, headers, body)
        self.requests.append(Request(headers, body, signed))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest_asyncio.fixture
async def sink() -> AsyncIterator[WebhookSink]:
    found = WebhookSink(port=free_port())
    app = web.Application()
    app.router.add_post("/engage/notifications", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    yield found
    await runner.cleanup()


def item(n: int, customer: str = "c1") -> NewBankNotification:
    return NewBankNotification(rule_id="low_balance", rule_version=2, firing_id=f"f{n}", customer_id=customer,
                               account_id=f"{customer}-chk", note="Call the customer about their overdraft",
                               values={"balance": f"-{n}.00"})


async def notify(services, tenant: str, *items: NewBankNotification):
    """What the trigger runtime does: notify inside its unit of work, commit, then hand over."""
    notifications = services.bank_notifications
    async with UnitOfWork(services.database, tenant) as uow:
        notified = await notifications.notify(uow, list(items))
        await uow.commit()
    await notifications.hand_over(notified)
    return notified


async def test_the_inbox_lists_acknowledges_and_assigns(server, services, tenant):
    notified = await notify(services, tenant, item(1), item(2), item(3, "c2"))
    assert notified.delivery_ids == ()  # no webhook set: the inbox only
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        listed = await ana.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(page_size=2))
        assert len(listed.bank_notifications) == 2 and listed.next_page_token
        rest = await ana.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(
            page_size=2, page_token=listed.next_page_token))
        every = [*listed.bank_notifications, *rest.bank_notifications]
        assert sorted(n.firing_id for n in every) == ["f1", "f2", "f3"] and not rest.next_page_token
        first = next(n for n in every if n.firing_id == "f1")
        assert (first.rule_id, first.rule_version, first.customer, first.account, dict(first.values),
                first.status) == ("low_balance", 2, "customers/c1", "accounts/c1-chk", {"balance": "-1.00"},
                                  pb.BankNotification.NEW)

        done = await ana.bank_notifications.AcknowledgeBankNotification(
            pb.AcknowledgeBankNotificationRequest(name=first.name))
        assert (done.status, done.acknowledged_by) == (pb.BankNotification.ACKNOWLEDGED, "ana")
        assert done.HasField("acknowledge_time")
        async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ben")) as ben:
            again = await ben.bank_notifications.AcknowledgeBankNotification(
                pb.AcknowledgeBankNotificationRequest(name=first.name))
            assert again.acknowledged_by == "ana"  # the first acknowledgement stays
        given = await ana.bank_notifications.AssignBankNotification(
            pb.AssignBankNotificationRequest(name=first.name, assignee="  Petra (branch 12) "))
        assert given.assignee == "Petra (branch 12)"

        new = await ana.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(
            status=pb.BankNotification.NEW))
        assert sorted(n.firing_id for n in new.bank_notifications) == ["f2", "f3"]
        acked = await ana.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(
            status=pb.BankNotification.ACKNOWLEDGED))
        assert [(n.firing_id, n.assignee) for n in acked.bank_notifications] == [("f1", "Petra (branch 12)")]

        for call, reason in [
            (ana.bank_notifications.AcknowledgeBankNotification(
                pb.AcknowledgeBankNotificationRequest(name="bankNotifications/nope")), "BANK_NOTIFICATION_NOT_FOUND"),
            (ana.bank_notifications.AcknowledgeBankNotification(
                pb.AcknowledgeBankNotificationRequest(name="nope")), "RESOURCE_NAME_INVALID"),
            (ana.bank_notifications.AssignBankNotification(
                pb.AssignBankNotificationRequest(name=first.name, assignee="x" * 201)), "BANK_NOTIFICATION_INVALID"),
            (ana.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(status=7)),
             "BANK_NOTIFICATION_INVALID"),
            (ana.bank_notifications.ListBankNotifications(pb.ListBankNotificationsRequest(page_token="x")),
             "INVALID_PAGE_TOKEN"),
        ]:
            assert (await failure(call))[1] == reason
    for role in (Role.SERVICE, Role.USER):
        async with server.stubs(server.token(tenant, role, "c1")) as other:
            code, reason, _ = await failure(other.bank_notifications.ListBankNotifications(
                pb.ListBankNotificationsRequest()))
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")


async def test_webhook_urls_are_checked_and_the_secret_never_shown_again(server, tenant, sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        calls = ana.bank_notifications
        assert (await failure(calls.GetNotificationWebhook(pb.GetNotificationWebhookRequest())))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "NOTIFICATION_WEBHOOK_NOT_FOUND")
        for url, secret, reason in [
            ("ftp://bank.example/x", "", "NOTIFICATION_WEBHOOK_INVALID"),
            ("https://user:pw@bank.example/x", "", "NOTIFICATION_WEBHOOK_INVALID"),
            ("https://", "", "NOTIFICATION_WEBHOOK_INVALID"),
            ("https://bank.example/x", "short", "NOTIFICATION_WEBHOOK_INVALID"),
            # Plain http only to networks the operator listed; https to no private address it did not list.
            ("http://8.8.8.8/hook", "", "NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED"),
            ("https://10.1.2.3/hook", "", "NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED"),
            ("https://169.254.169.254/latest", "", "NOTIFICATION_WEBHOOK_HOST_NOT_ALLOWED"),
        ]:
            assert (await failure(calls.SetNotificationWebhook(pb.SetNotificationWebhookRequest(
                url=url, secret=secret))))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, reason), url

        made = await calls.SetNotificationWebhook(pb.SetNotificationWebhookRequest(url=sink.url))
        assert made.webhook.url == sink.url and len(made.secret) >= 32  # Engage made one
        given = await calls.SetNotificationWebhook(pb.SetNotificationWebhookRequest(url=sink.url, secret=SECRET))
        assert given.secret == SECRET
        shown = await calls.GetNotificationWebhook(pb.GetNotificationWebhookRequest())
        assert shown.url == sink.url and SECRET not in str(shown)
        removed = await calls.SetNotificationWebhook(pb.SetNotificationWebhookRequest(url=""))
        assert not removed.HasField("webhook") and removed.secret == ""
        assert (await failure(calls.GetNotificationWebhook(pb.GetNotificationWebhookRequest())))[0] == \
            grpc.StatusCode.NOT_FOUND


async def _set_webhook(server, tenant, url: str) -> None:
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        await ana.bank_notifications.SetNotificationWebhook(pb.SetNotificationWebhookRequest(url=url, secret=SECRET))


async def _deliveries(server, tenant, **request) -> list[pb.WebhookDelivery]:
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as ana:
        return list((await ana.bank_notifications.ListWebhookDeliveries(
            pb.ListWebhookDeliveriesRequest(**request))).webhook_deliveries)


async def test_each_item_is_posted_signed_once(server, services, settings, tenant, sink):
    await _set_webhook(server, tenant, sink.url)
    notified = await notify(services, tenant, item(1), item(2))
    assert len(notified.delivery_ids) == 2
    await run_worker(settings)

    assert len(sink.requests) == 2 and all(r.signed for r in sink.requests)
    bodies = {json.loads(r.body)["firing_id"]: (json.loads(r.body), r.headers) for r in sink.requests}
    body, headers = bodies["f1"]
    first = next(n for n in notified.notifications if n.firing_id == "f1")
    assert body == {"notification_id": first.notification_id, "rule": {"id": "low_balance", "version": 2},
                    "firing_id": "f1", "customer_id": "c1", "account_id": "c1-chk",
                    "note": "Call the customer about their overdraft", "values": {"balance": "-1.00"},
                    "created_at": body["created_at"]}
    assert body["created_at"].endswith("Z") and headers["Content-Type"] == "application/json"
    assert headers[SIGNATURE_HEADER].startswith("sha256=") and headers[DELIVERY_HEADER] in notified.delivery_ids

    deliveries = await _deliveries(server, tenant, bank_notification=f"bankNotifications/{first.notification_id}")
    [delivery] = deliveries
    assert delivery.status == pb.WebhookDelivery.DELIVERED and delivery.HasField("deliver_time")
    assert [(a.attempt, a.http_status, a.error) for a in delivery.attempts] == [(1, 200, "")]
    assert delivery.name == f"webhookDeliveries/{headers[DELIVERY_HEADER]}"

    # A job run again (arq runs jobs at least once) posts nothing more: the delivery is done.
    await services.publisher.enqueue_webhook_deliveries(tenant, list(notified.delivery_ids), tag="again")
    await run_worker(settings)
    assert len(sink.requests) == 2


async def test_a_failing_endpoint_is_retried_until_it_answers(server, services, settings, tenant, sink):
    await _set_webhook(server, tenant, sink.url)
    sink.statuses = [500, 503]
    await notify(services, tenant, item(1))
    await run_worker(settings)

    assert len(sink.requests) == 3 and all(r.signed for r in sink.requests)
    assert len({r.headers[DELIVERY_HEADER] for r in sink.requests}) == 1  # one delivery, three attempts
    assert len({r.body for r in sink.requests}) == 1  # the same bytes each time
    [delivery] = await _deliveries(server, tenant)
    assert delivery.status == pb.WebhookDelivery.DELIVERED
    assert [(a.attempt, a.http_status) for a in delivery.attempts] == [(1, 500), (2, 503), (3, 200)]
    assert delivery.attempts[0].error.startswith("HTTP 500")


async def test_a_dead_endpoint_fails_after_the_last_attempt(server, services, settings, tenant):
    dead = f"http://127.0.0.1:{free_port()}/nobody"  # nothing listens there
    await _set_webhook(server, tenant, dead)
    await notify(services, tenant, item(1))
    await run_worker(settings)

    [delivery] = await _deliveries(server, tenant)
    assert delivery.status == pb.WebhookDelivery.FAILED and not delivery.HasField("deliver_time")
    assert [a.attempt for a in delivery.attempts] == list(range(1, settings.delivery_max_tries + 1))
    assert all(a.http_status == 0 and a.error for a in delivery.attempts)


async def test_a_lost_job_is_sent_by_the_relay_sweep(server, services, settings, tenant, sink, monkeypatch):
    await _set_webhook(server, tenant, sink.url)
    async with UnitOfWork(services.database, tenant) as uow:  # committed, never handed to the queue
        notified = await services.bank_notifications.notify(uow, [item(1)])
        await uow.commit()
    await run_worker(settings)
    assert sink.requests == []  # not yet: within the sweep's grace
    monkeypatch.setattr(webhooks, "RELAY_GRACE", dt.timedelta(0))
    await run_worker(settings)  # the sweep runs at the worker's start
    assert [r.headers[DELIVERY_HEADER] for r in sink.requests] == list(notified.delivery_ids)


async def test_another_bank_sees_none_of_it(server, services, settings, tenant, sink):
    await _set_webhook(server, tenant, sink.url)
    notified = await notify(services, tenant, item(1))
    await run_worker(settings)
    other = (await services.tenants.create(f"other-{uuid.uuid4().hex[:8]}")).tenant_id
    name = f"bankNotifications/{notified.notifications[0].notification_id}"
    async with server.stubs(server.token(other, Role.BANK_ADMIN, "eve")) as eve:
        calls = eve.bank_notifications
        assert not (await calls.ListBankNotifications(pb.ListBankNotificationsRequest())).bank_notifications
        assert not (await calls.ListWebhookDeliveries(pb.ListWebhookDeliveriesRequest())).webhook_deliveries
        for call in (calls.AcknowledgeBankNotification(pb.AcknowledgeBankNotificationRequest(name=name)),
                     calls.AssignBankNotification(pb.AssignBankNotificationRequest(name=name, assignee="eve")),
                     calls.ListWebhookDeliveries(pb.ListWebhookDeliveriesRequest(bank_notification=name)),
                     calls.GetNotificationWebhook(pb.GetNotificationWebhookRequest())):
            assert (await failure(call))[0] == grpc.StatusCode.NOT_FOUND
    # Its own items go to no webhook of ours.
    assert (await notify(services, other, item(9))).delivery_ids == ()
    await run_worker(settings)
    assert len(sink.requests) == 1
