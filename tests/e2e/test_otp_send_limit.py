"""One-time passwords to one customer are limited per hour (ENGAGE_OTP_MAX_SENDS_PER_HOUR): past it
SendOtp is RESOURCE_EXHAUSTED OTP_TOO_MANY_SENDS with the seconds to wait, nothing is recorded or
sent, and other customers are not affected."""

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from tests.support.builders import failure
from tests.support.yes_bank import add_customer, set_up_yes_bank


@pytest.fixture
def settings(settings):
    settings.otp_max_sends_per_hour = 3
    return settings


async def test_codes_past_the_hourly_limit_are_refused_with_the_wait(server, tenant, service_stubs, smtp_sink,
                                                                      provider_sink):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        for customer in ("lisa-customer", "petr-customer"):
            await add_customer(service_stubs, bank.app, customer_id=customer, push_token="")

        def send(customer: str = "lisa-customer"):
            return service_stubs.engagement.SendOtp(pb.SendOtpRequest(customer_id=customer, purpose="login",
                                                                      channel=pb.CHANNEL_SMS))

        for _ in range(3):
            await send()
        try:
            await send()
        except grpc.aio.AioRpcError as error:
            refused = error
        else:
            raise AssertionError("the fourth code in an hour was sent")
        code, reason, _ = await failure(send())
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "OTP_TOO_MANY_SENDS")
        info = error_details_pb2.ErrorInfo()
        rpc_status.from_call(refused).details[0].Unpack(info)
        assert 3500 <= int(info.metadata["retry_after_seconds"]) <= 3601
        await send("petr-customer")  # another customer's limit is their own
        listed = await admin.engagement.ListDeliveries(pb.ListDeliveriesRequest(customer_id="lisa-customer"))
        assert len(listed.deliveries) == 3


async def test_the_limit_holds_for_codes_asked_for_at_the_same_moment(server, tenant, service_stubs, smtp_sink,
                                                                     provider_sink):
    """SMS pumping asks for many codes at once: each request counted the hour's codes before any of them
    was recorded, so all of them went out. Exactly the limit goes out now, the rest are refused."""
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service_stubs, bank.app, push_token="")
        outcomes = await asyncio.gather(*(service_stubs.engagement.SendOtp(pb.SendOtpRequest(
            customer_id="lisa-customer", purpose="login", channel=pb.CHANNEL_SMS)) for _ in range(20)),
            return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert {error.code() for error in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert (len(outcomes) - len(refused), len(refused)) == (3, 17)
        listed = await admin.engagement.ListDeliveries(pb.ListDeliveriesRequest(customer_id="lisa-customer"))
        assert len(listed.deliveries) == 3
