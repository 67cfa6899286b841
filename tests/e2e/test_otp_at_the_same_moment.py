"""One-time passwords checked by many requests at the same moment (a replayed login, a brute force run
in parallel): a code is used once, and wrong guesses stop at the attempt limit."""

import asyncio

import grpc

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from tests.integration.test_insight_batches import run_worker
from tests.support.builders import error_info
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def sent_code(server, settings, tenant, service_stubs, smtp_sink, provider_sink) -> tuple[str, str]:
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa")) as admin:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, push_token="")
    otp = await service_stubs.engagement.SendOtp(pb.SendOtpRequest(customer_id="lisa-customer", purpose="login",
                                                                   channel=pb.CHANNEL_SMS))
    await run_worker(settings)
    [sms] = provider_sink.received("twilio")
    return otp.name, sms.body["Body"].split(" is ")[1][:6]


async def outcomes(calls) -> list[str]:
    """'VERIFIED' or the error reason of each call."""
    async def one(call) -> str:
        try:
            return "VERIFIED" if (await call).verified else "NOT VERIFIED"
        except grpc.aio.AioRpcError as error:
            return error_info(error)[1]
    return list(await asyncio.gather(*(one(call) for call in calls)))


async def test_a_code_checked_at_the_same_moment_is_used_once(server, settings, tenant, service_stubs, smtp_sink,
                                                              provider_sink):
    name, code = await sent_code(server, settings, tenant, service_stubs, smtp_sink, provider_sink)
    results = await outcomes([service_stubs.engagement.VerifyOtp(pb.VerifyOtpRequest(name=name, code=code))
                              for _ in range(10)])
    assert sorted(results) == ["OTP_ALREADY_USED"] * 9 + ["VERIFIED"]


async def test_guesses_at_the_same_moment_stop_at_the_attempt_limit(server, settings, tenant, service_stubs,
                                                                     smtp_sink, provider_sink):
    name, code = await sent_code(server, settings, tenant, service_stubs, smtp_sink, provider_sink)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    results = await outcomes([service_stubs.engagement.VerifyOtp(pb.VerifyOtpRequest(name=name, code=wrong))
                              for _ in range(20)])
    limit = settings.otp_max_attempts
    assert sorted(results) == ["OTP_TOO_MANY_ATTEMPTS"] * (20 - limit) + ["OTP_WRONG_CODE"] * limit
    [late] = await outcomes([service_stubs.engagement.VerifyOtp(pb.VerifyOtpRequest(name=name, code=code))])
    assert late == "OTP_TOO_MANY_ATTEMPTS"
