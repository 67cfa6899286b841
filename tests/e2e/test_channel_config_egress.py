"""A channel configuration whose host the workers would refuse (ENGAGE_PROVIDER_NETWORKS_ALLOWED) is refused
when it is saved, not later as deliveries failing EGRESS_DENIED; a name the server cannot resolve is saved
with a warning (the workers may resolve it, and they check again when they connect)."""

import grpc
import pytest
import structlog.testing
from google.protobuf import field_mask_pb2

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.config import Settings
from server.domain.auth import Role
from tests.support.builders import failure


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The operator's allowed networks as a test asks (indirect parameter); conftest's allow loopback."""
    settings.provider_networks_allowed = getattr(request, "param", settings.provider_networks_allowed)
    return settings


def smtp(host: str) -> pb.CreateChannelConfigRequest:
    return pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        display_name="Mail", channel=pb.CHANNEL_EMAIL, provider="smtp",
        settings={"host": host, "port": "25", "security": "NONE", "from_address": "alerts@yesbank.example"}))


def twilio(base_url: str) -> pb.CreateChannelConfigRequest:
    return pb.CreateChannelConfigRequest(channel_config=pb.ChannelConfig(
        display_name="SMS", channel=pb.CHANNEL_SMS, provider="twilio",
        settings={"base_url": base_url, "account_sid": "AC" + "0" * 32, "from_number": "+15005550006"},
        secrets={"auth_token": "twilio-token"}))


REFUSED = (grpc.StatusCode.INVALID_ARGUMENT, "CHANNEL_CONFIG_HOST_NOT_ALLOWED")


@pytest.mark.parametrize("settings", [""], indirect=True)
async def test_a_host_the_workers_may_not_reach_is_refused_when_saved(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        e = admin.engagement
        assert await failure(e.CreateChannelConfig(smtp("127.0.0.1"))) == (*REFUSED, ["channel_config.settings.host"])
        assert await failure(e.CreateChannelConfig(smtp("localhost"))) == (*REFUSED, ["channel_config.settings.host"])
        assert await failure(e.CreateChannelConfig(twilio("http://[::1]:8080"))) == (
            *REFUSED, ["channel_config.settings.base_url"])
        assert await failure(e.CreateChannelConfig(twilio("https://169.254.169.254/latest"))) == (
            *REFUSED, ["channel_config.settings.base_url"])
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await e.CreateChannelConfig(smtp("10.1.2.3"))
        assert "ENGAGE_PROVIDER_NETWORKS_ALLOWED" in (refused.value.details() or "")
        assert "10.1.2.3" in (refused.value.details() or "")

        # A public address is saved; moving it inside the operator's network is refused like a create.
        public = await e.CreateChannelConfig(smtp("192.0.32.10"))
        moved = pb.UpdateChannelConfigRequest(
            channel_config=pb.ChannelConfig(name=public.name, settings={**public.settings, "host": "10.0.0.5"}),
            update_mask=field_mask_pb2.FieldMask(paths=["settings"]))
        assert await failure(e.UpdateChannelConfig(moved)) == (*REFUSED, ["channel_config.settings.host"])

        # A name this server cannot resolve may resolve where the workers run: saved, with a warning.
        with structlog.testing.capture_logs() as logs:
            saved = await e.CreateChannelConfig(smtp("relay.yesbank.invalid"))
        assert saved.settings["host"] == "relay.yesbank.invalid"
        assert [(entry["log_level"], entry["host"]) for entry in logs
                if entry["event"] == "provider_host_unresolved"] == [("warning", "relay.yesbank.invalid")]
        listed = await e.ListChannelConfigs(pb.ListChannelConfigsRequest())
    assert sorted(c.settings["host"] for c in listed.channel_configs) == ["192.0.32.10", "relay.yesbank.invalid"]


@pytest.mark.parametrize("settings", ["127.0.0.0/8"], indirect=True)
async def test_a_loopback_sink_is_saved_when_the_operator_allows_loopback(server, tenant):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        saved = await admin.engagement.CreateChannelConfig(smtp("127.0.0.1"))
        refused = await failure(admin.engagement.CreateChannelConfig(twilio("http://[::1]:8080")))
    assert saved.settings["host"] == "127.0.0.1"
    assert refused == (*REFUSED, ["channel_config.settings.base_url"])  # ::1 is not in 127.0.0.0/8
