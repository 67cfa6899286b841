"""Push credentials per app: a bank with two apps (each its own FCM project and access token) and a
tenant-wide FCM configuration. Each app's push goes out with its own app's credentials, to its own
project's endpoint; an app without a configuration of its own uses the tenant-wide one, and a
configuration bound to one app never sends another app's pushes, however recently it was updated."""

import grpc

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.ingest.v1 import ingest_service_pb2 as ingest
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import customer, failure
from tests.support.keys import apns_key_pem
from tests.support.yes_bank import add_customer, published_app


def fcm(provider_sink, project: str, token: str, app: str = "") -> pb.CreateChannelConfigRequest:
    return pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        display_name=f"FCM {project}", channel=pb.CHANNEL_PUSH, provider="fcm", app=app,
        settings={"base_url": provider_sink.base_url, "project_id": project}, secrets={"access_token": token}))


async def _push_event(e, app: pb.App, kind: pb.EventType) -> str:
    return (await e.CreateEvent(pb.CreateEventRequest(event=pb.Event(
        display_name=f"Notice of {app.display_name}", description="d", event_type=kind.name, app=app.name,
        messages=[pb.EventMessage(channel=pb.CHANNEL_PUSH, content=pb.MessageContent(push=pb.PushContent(
            title="Notice", body="{{ data.note }}")))])))).name


async def test_each_apps_push_goes_with_its_own_credentials(server, settings, tenant, service_stubs, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        wallet, kind = await published_app(e, "Wallet", [pb.PLATFORM_ANDROID], "Notices")
        cards = await e.CreateApp(pb.CreateAppRequest(app=pb.App(display_name="Cards", category="BANKING",
                                                                 platforms=[pb.PLATFORM_ANDROID])))
        await e.PublishApp(pb.PublishAppRequest(name=cards.name))
        legacy = await e.CreateApp(pb.CreateAppRequest(app=pb.App(display_name="Legacy", category="BANKING",
                                                                  platforms=[pb.PLATFORM_ANDROID])))
        await e.PublishApp(pb.PublishAppRequest(name=legacy.name))
        own_wallet = await e.CreateChannelConfig(fcm(provider_sink, "wallet-project", "wallet-token", wallet.name))
        assert own_wallet.app == wallet.name
        await e.CreateChannelConfig(fcm(provider_sink, "cards-project", "cards-token", cards.name))
        # The tenant-wide one, the most recently updated of all: before, it would have sent every push.
        await e.CreateChannelConfig(fcm(provider_sink, "bank-project", "bank-token"))
        events = {app.name: await _push_event(e, app, kind) for app in (wallet, cards, legacy)}
    for number, app in enumerate((wallet, cards, legacy)):
        await add_customer(service_stubs, app.name, f"customer-{number}", push_token=f"device-{number}")
        await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=events[app.name], customer_id=f"customer-{number}", data={"note": "hello"}))
    await run_worker(settings)
    sent = {r.body["message"]["token"]: (r.path, r.headers["Authorization"]) for r in provider_sink.received("fcm")}
    assert provider_sink.requests["fcm"] == 3
    assert sent == {"device-0": ("/v1/projects/wallet-project/messages:send", "Bearer wallet-token"),
                    "device-1": ("/v1/projects/cards-project/messages:send", "Bearer cards-token"),
                    "device-2": ("/v1/projects/bank-project/messages:send", "Bearer bank-token")}


def apns(provider_sink, topic: str, app: str = "") -> pb.CreateChannelConfigRequest:
    return pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        channel=pb.CHANNEL_PUSH, provider="apns", app=app,
        settings={"base_url": provider_sink.base_url, "topic": topic, "team_id": "TEAM123456", "key_id": "KEY1234567"},
        secrets={"private_key": apns_key_pem()}))


async def test_an_app_with_its_own_apns_key_keeps_the_tenants_fcm(server, settings, tenant, service_stubs,
                                                                  provider_sink):
    """Credentials are per app and per provider: the wallet app's iPhones get its own APNs topic, its
    Android phones the bank's FCM project (it has no FCM configuration of its own), and another app's
    iPhones the bank's APNs topic."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        wallet, kind = await published_app(e, "Wallet", [pb.PLATFORM_APPLE, pb.PLATFORM_ANDROID], "Notices")
        cards = await e.CreateApp(pb.CreateAppRequest(app=pb.App(display_name="Cards", category="BANKING",
                                                                 platforms=[pb.PLATFORM_APPLE])))
        await e.PublishApp(pb.PublishAppRequest(name=cards.name))
        await e.CreateChannelConfig(apns(provider_sink, "com.bank.wallet", wallet.name))
        await e.CreateChannelConfig(apns(provider_sink, "com.bank.app"))
        await e.CreateChannelConfig(fcm(provider_sink, "bank-project", "bank-token"))
        events = {app.name: await _push_event(e, app, kind) for app in (wallet, cards)}
    await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer("c1")))
    await service_stubs.ingest.UpsertCustomer(ingest.UpsertCustomerRequest(customer=customer("c2")))
    await service_stubs.engagement.UpsertContact(pb.UpsertContactRequest(contact=pb.Contact(customer_id="c1", devices=[
        pb.Device(app=wallet.name, platform=pb.PLATFORM_APPLE, push_token="wallet-iphone"),
        pb.Device(app=wallet.name, platform=pb.PLATFORM_ANDROID, push_token="wallet-android")])))
    await service_stubs.engagement.UpsertContact(pb.UpsertContactRequest(contact=pb.Contact(customer_id="c2", devices=[
        pb.Device(app=cards.name, platform=pb.PLATFORM_APPLE, push_token="cards-iphone")])))
    for customer_id, app in (("c1", wallet), ("c2", cards)):
        await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=events[app.name], customer_id=customer_id, data={"note": "hello"}))
    await run_worker(settings)
    assert sorted((r.path.rsplit("/", 1)[1], r.headers["apns-topic"]) for r in provider_sink.received("apns")) == \
        [("cards-iphone", "com.bank.app"), ("wallet-iphone", "com.bank.wallet")]
    assert [(r.body["message"]["token"], r.path) for r in provider_sink.received("fcm")] == \
        [("wallet-android", "/v1/projects/bank-project/messages:send")]


async def test_binding_a_configuration_to_an_app_is_checked(server, tenant, provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        wallet, _ = await published_app(e, "Wallet", [pb.PLATFORM_ANDROID], "Notices")
        assert (await failure(e.CreateChannelConfig(fcm(provider_sink, "p", "t", "apps/nope"))))[:2] == \
            (grpc.StatusCode.NOT_FOUND, "APP_NOT_FOUND")
        code, reason, fields = await failure(e.CreateChannelConfig(pb.CreateChannelConfigRequest(
            channel_config=pb.ChannelConfig(channel=pb.CHANNEL_SMS, provider="vonage", app=wallet.name,
                                            settings={"base_url": provider_sink.base_url, "api_key": "k",
                                                      "from": "Bank"}, secrets={"api_secret": "s"}))))
        assert (code, reason, fields) == (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_APP_NOT_PUSH",
                                          ["channel_config.app"])
        assert (await failure(e.CreateChannelConfig(fcm(provider_sink, "p", "t", "events/x"))))[:2] == \
            (grpc.StatusCode.INVALID_ARGUMENT, "RESOURCE_NAME_INVALID")
        # Bound and unbound again through UpdateChannelConfig.
        config = await e.CreateChannelConfig(fcm(provider_sink, "p", "t"))
        assert config.app == ""
        bound = await e.UpdateChannelConfig(pb.UpdateChannelConfigRequest(
            channel_config=pb.ChannelConfig(name=config.name, app=wallet.application_id),
            update_mask={"paths": ["app"]}))
        assert bound.app == wallet.name
        assert (await failure(e.UpdateChannelConfig(pb.UpdateChannelConfigRequest(
            channel_config=pb.ChannelConfig(name=config.name, app="apps/nope"),
            update_mask={"paths": ["app"]}))))[:2] == (grpc.StatusCode.NOT_FOUND, "APP_NOT_FOUND")
        unbound = await e.UpdateChannelConfig(pb.UpdateChannelConfigRequest(
            channel_config=pb.ChannelConfig(name=config.name), update_mask={"paths": ["app"]}))
        assert unbound.app == ""
        assert (await e.GetChannelConfig(pb.GetChannelConfigRequest(name=config.name))).app == ""
