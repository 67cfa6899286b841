"""Delivery through the real arq worker against real provider endpoints: temporary errors are retried
and send exactly once, permanent ones are not retried, exhausted tries dead-letter and are re-driven,
quiet hours defer, opt-outs skip (one-time passwords do not), and a worker killed mid-send leads to
exactly one delivery."""

import asyncio
import datetime as dt
import signal
import sys

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis
from sqlalchemy import func, select, text

from engage.engagement.v1 import engagement_service_pb2 as pb
from server.domain.auth import Role
from server.domain.engagement.retry_policy import RetryPolicy
from server.store.models import DomainEventRow
from tests.conftest import REPO_ROOT
from tests.integration.test_insight_batches import run_worker
from tests.support.processes import process_env
from tests.support.sinks.providers import RawAnswer
from tests.support.yes_bank import add_customer, set_up_yes_bank


async def yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, **customer):
    admin = server.stubs(server.token(tenant, Role.BANK_ADMIN, "lisa"))
    bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                 provider_base_url=provider_sink.base_url)
    await add_customer(service_stubs, bank.app, **customer)
    return admin, bank


async def trigger(service_stubs, bank, request_id: str = "r1", customer_id: str = "lisa-customer"):
    response = await service_stubs.engagement.TriggerEvent(pb.TriggerEventRequest(
        event=bank.notice_event, customer_id=customer_id, request_id=request_id,
        data={"note": "test"}))
    return {pb.Channel.Name(d.channel): d for d in response.deliveries}


async def state_of(admin, delivery: pb.Delivery) -> pb.Delivery:
    return await admin.engagement.GetDelivery(pb.GetDeliveryRequest(name=delivery.name))


async def _expire_in_progress_marks(redis: Redis, queue_name: str) -> None:
    """Drops arq's in-progress mark of every job still in the queue (a dead worker's job)."""
    job_ids = [job_id.decode() for job_id in await redis.zrange(queue_name, 0, -1)]
    assert job_ids, "the dead worker's job is still queued"
    await redis.delete(*(in_progress_key_prefix + job_id for job_id in job_ids))


async def test_a_500_then_200_sends_exactly_once(server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    provider_sink.script("twilio", [500, 200])
    sent = await trigger(service_stubs, bank)
    await run_worker(settings)
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts) == (pb.SENT, 2)
    assert len(provider_sink.received("twilio")) == 1
    assert sms.provider_message_id == provider_sink.received("twilio")[0].response_id
    await admin.close()


async def test_a_400_is_not_retried(server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, phone="+15005550001")
    provider_sink.script("twilio", [400])
    sent = await trigger(service_stubs, bank)
    await run_worker(settings)
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts) == (pb.FAILED, 1)
    assert sms.error_code
    assert provider_sink.received("twilio") == []
    await admin.close()


async def test_a_retry_after_beyond_reason_is_capped_and_the_rest_of_the_batch_recorded(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    """A provider's Retry-After sets the wait up to the retry policy's longest one: a value past any
    date (here 1e300 seconds) once failed the recording of the whole batch, so the email sent beside
    the SMS stayed claimed and would have been sent again when its lease ran out."""
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    provider_sink.script("twilio", [RawAnswer(429, b'{"code": 20429, "message": "Too Many Requests"}',
                                              {"Content-Type": "application/json", "Retry-After": "1e300"})])
    sent = await trigger(service_stubs, bank)
    before = dt.datetime.now(dt.UTC)
    await run_worker(settings)
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts, sms.error_code) == (pb.QUEUED, 1, "HTTP_429")
    policy = RetryPolicy()
    longest = dt.timedelta(seconds=policy.max_delay_seconds * (1 + policy.jitter_fraction) + 60)
    assert before < sms.next_attempt_time.ToDatetime(dt.UTC) < before + longest
    mail = await state_of(admin, sent["CHANNEL_EMAIL"])
    assert (mail.state, mail.attempts) == (pb.SENT, 1)
    assert len(smtp_sink.raw) == 1
    await admin.close()


async def test_a_nul_in_a_providers_answer_is_not_stored_and_the_rest_of_the_batch_recorded(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    """PostgreSQL's text holds no NUL: one in a provider's error message (or message id) failed the
    recording of the whole batch, as the Retry-After above did."""
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    provider_sink.script("twilio", [RawAnswer(400, b'{"code": 21211, "message": "bad\\u0000number"}')])
    sent = await trigger(service_stubs, bank)
    await run_worker(settings)
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts, sms.error_code, sms.error_message) == (pb.FAILED, 1, "TWILIO_21211", "badnumber")
    mail = await state_of(admin, sent["CHANNEL_EMAIL"])
    assert (mail.state, mail.attempts) == (pb.SENT, 1)
    assert len(smtp_sink.raw) == 1
    await admin.close()


REFUSING_TRIGGER = {  # the database refuses to record one answer: a fault injected in the database itself
    "postgresql": ["CREATE FUNCTION refuse_answer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF NEW.error_code = 'TWILIO_21666' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                   "RETURN NEW; END $$",
                   "CREATE TRIGGER refuse_answer BEFORE UPDATE ON deliveries FOR EACH ROW "
                   "EXECUTE FUNCTION refuse_answer()"],
    "sqlite": ["CREATE TRIGGER refuse_answer BEFORE UPDATE ON deliveries WHEN NEW.error_code = 'TWILIO_21666' "
               "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
}


async def test_an_answer_the_database_refuses_does_not_take_the_batchs_other_answers_with_it(
        server, services, settings, tenant, service_stubs, smtp_sink, provider_sink):
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    async with services.database.sessions() as session:
        for statement in REFUSING_TRIGGER[session.bind.dialect.name]:
            await session.execute(text(statement))
        await session.commit()
    provider_sink.script("twilio", [RawAnswer(400, b'{"code": 21666, "message": "refused"}')])
    sent = await trigger(service_stubs, bank)
    await run_worker(settings)
    mail = await state_of(admin, sent["CHANNEL_EMAIL"])
    assert (mail.state, mail.attempts) == (pb.SENT, 1)
    assert len(smtp_sink.raw) == 1
    # The refused one stays claimed; the relay hands it on when its lease runs out.
    assert (await state_of(admin, sent["CHANNEL_SMS"])).state == pb.SENDING
    await admin.close()


async def test_tries_run_out_into_the_dead_letter_and_are_redriven(server, settings, tenant, service_stubs,
                                                                   smtp_sink, provider_sink):
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink)
    provider_sink.script("twilio", [503] * settings.delivery_max_tries)
    sent = await trigger(service_stubs, bank)
    await run_worker(settings)
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts) == (pb.DEAD_LETTER, settings.delivery_max_tries)
    listed = await admin.engagement.ListDeliveries(pb.ListDeliveriesRequest(state=pb.DEAD_LETTER))
    assert [d.name for d in listed.deliveries] == [sms.name]
    redriven = await admin.engagement.RetryDeliveries(pb.RetryDeliveriesRequest())
    assert redriven.requeued == 1
    await run_worker(settings)
    assert (await state_of(admin, sms)).state == pb.SENT
    assert len(provider_sink.received("twilio")) == 1
    await admin.close()


async def test_quiet_hours_defer_and_opt_outs_skip_but_not_otp(server, settings, tenant, service_stubs, smtp_sink,
                                                              provider_sink):
    now = dt.datetime.now(dt.UTC)
    quiet = pb.QuietHours(start=(now - dt.timedelta(hours=1)).strftime("%H:%M"),
                          end=(now + dt.timedelta(hours=2)).strftime("%H:%M"), time_zone="UTC")
    preferences = pb.Preferences(opted_out_channels=[pb.CHANNEL_EMAIL], quiet_hours=quiet)
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, preferences=preferences)
    sent = await trigger(service_stubs, bank)
    assert (sent["CHANNEL_EMAIL"].state, sent["CHANNEL_EMAIL"].skip_reason) == (pb.SKIPPED, "OPTED_OUT_CHANNEL")
    deferred = sent["CHANNEL_SMS"]
    assert deferred.state == pb.QUEUED
    assert deferred.next_attempt_time.ToDatetime(tzinfo=dt.UTC) > now + dt.timedelta(hours=1)
    otp = await service_stubs.engagement.SendOtp(pb.SendOtpRequest(customer_id="lisa-customer", purpose="login",
                                                                   channel=pb.CHANNEL_SMS))
    await run_worker(settings)
    assert smtp_sink.messages == []
    [otp_sms] = provider_sink.received("twilio")
    code = otp_sms.body["Body"].split(" is ")[1][:6]
    assert (await state_of(admin, deferred)).state == pb.QUEUED
    verified = await service_stubs.engagement.VerifyOtp(pb.VerifyOtpRequest(name=otp.name, code=code))
    assert verified.verified
    await admin.close()


async def test_a_worker_killed_mid_send_leads_to_exactly_one_delivery(server, settings, tenant, service_stubs,
                                                                      smtp_sink, provider_sink):
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, email="", push_token="")
    provider_sink.delay("twilio", 30)  # the first worker is killed while the provider holds its request
    sent = await trigger(service_stubs, bank)
    env = process_env(settings, ENGAGE_DELIVERY_LEASE_SECONDS="3")
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", cwd=REPO_ROOT, env=env,
                                                  stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await provider_sink.wait_for_request("twilio", timeout=30)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    provider_sink.delay("twilio", 0)
    # A new worker takes the delivery over once the dead one's lease has run out (the relay sweep).
    await asyncio.sleep(4)
    await server.services.engagement.relay_lost()
    # arq would re-run the dead worker's job once its in-progress mark expires (the longest job timeout
    # + 10 s, about 50 s): the mark is dropped here instead, so that the re-run happens now, beside
    # the relay's job, and must not send a second time either.
    await _expire_in_progress_marks(server.services.redis, settings.queue_name)
    await run_worker(settings.model_copy(update={"delivery_lease_seconds": 3}))
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts) == (pb.SENT, 2)
    # The provider saw the same idempotency token twice and delivered once.
    assert len(provider_sink.received("twilio")) == 1
    await admin.close()


async def test_secrets_no_key_opens_fail_the_delivery_instead_of_looping(server, settings, tenant, service_stubs,
                                                                         smtp_sink, provider_sink):
    from cryptography.fernet import Fernet

    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, email="", push_token="")
    sent = await trigger(service_stubs, bank)
    # A worker configured with another key (a rotation that dropped the old one) cannot open the secrets.
    await run_worker(settings.model_copy(update={"secrets_keys": Fernet.generate_key().decode()}))
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.error_code, sms.attempts) == (pb.FAILED, "SECRETS_UNREADABLE", 1)
    assert provider_sink.received("twilio") == []
    await admin.close()


async def test_many_triggers_are_sent_in_batches_once_each_by_concurrent_workers(server, settings, tenant,
                                                                                  service_stubs, smtp_sink,
                                                                                  provider_sink):
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, email="", push_token="")
    customers = [f"batch-{n:02d}" for n in range(40)]
    for number, customer_id in enumerate(customers):
        await add_customer(service_stubs, bank.app, customer_id, email="", push_token="",
                           phone=f"+4206012300{number:02d}")
    sent = [(await trigger(service_stubs, bank, f"r-{c}", c))["CHANNEL_SMS"] for c in customers]
    # Two workers drain the same tenant at once: each delivery is claimed by one of them.
    workers = await asyncio.gather(run_worker(settings), run_worker(settings))
    states = [await state_of(admin, delivery) for delivery in sent]
    assert {(s.state, s.attempts) for s in states} == {(pb.SENT, 1)}
    assert provider_sink.requests["twilio"] == 40
    assert sorted(r.body["To"] for r in provider_sink.received("twilio")) == \
        [f"+4206012300{n:02d}" for n in range(40)]
    # Deliveries recorded within one dispatch window share a job: far fewer jobs than messages (the
    # rest are the sweeps each worker runs at start, and one job per domain event the set-up wrote).
    async with server.services.database.sessions() as session:
        events = await session.scalar(select(func.count()).select_from(DomainEventRow))
    assert sum(w.jobs_complete for w in workers) - events < 30
    await admin.close()


async def test_a_rate_limit_holds_deliveries_back_without_using_up_their_tries(server, settings, tenant,
                                                                                 service_stubs, smtp_sink,
                                                                                 provider_sink):
    from google.protobuf import field_mask_pb2

    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, email="", push_token="")
    await admin.engagement.UpdateChannelConfig(pb.UpdateChannelConfigRequest(
        channel_config=pb.ChannelConfig(name=bank.sms_config, rate_limit_per_second=2),
        update_mask=field_mask_pb2.FieldMask(paths=["rate_limit_per_second"])))
    customers = [f"limited-{n}" for n in range(6)]
    for number, customer_id in enumerate(customers):
        await add_customer(service_stubs, bank.app, customer_id, email="", push_token="", phone=f"+42060123450{number}")
    sent = [(await trigger(service_stubs, bank, f"r-{c}", c))["CHANNEL_SMS"] for c in customers]
    # A lease of 3 s lets a send wait 1 s for its turn: at 2 a second, some of the six cannot go in the
    # first batch and return to the queue, to be sent in a later second.
    await run_worker(settings.model_copy(update={"delivery_lease_seconds": 3}))
    states = [await state_of(admin, delivery) for delivery in sent]
    assert {(s.state, s.attempts) for s in states} == {(pb.SENT, 1)}
    received = provider_sink.received("twilio")
    assert provider_sink.requests["twilio"] == len(received) == 6
    # Some were held back and sent by their own job later (arq keeps those jobs' results).
    redis = Redis.from_url(settings.redis_url)
    try:
        held = [key async for key in redis.scan_iter(f"arq:result:{settings.queue_name}:delivery:*:held*")]
    finally:
        await redis.aclose()
    assert held
    await admin.close()


async def test_a_worker_stopped_mid_send_finishes_the_send_records_it_and_exits_cleanly(
        server, settings, tenant, service_stubs, smtp_sink, provider_sink):
    # SIGTERM is how a deployment stops a worker. Cancelled mid-send, the message had reached the provider
    # but stayed SENDING: sent again once its lease ran out (twice, at a provider without idempotency).
    admin, bank = await yes_bank(server, tenant, service_stubs, smtp_sink, provider_sink, email="", push_token="")
    provider_sink.delay("twilio", 2)
    sent = await trigger(service_stubs, bank)
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", cwd=REPO_ROOT,
                                                  env=process_env(settings), stdout=asyncio.subprocess.DEVNULL,
                                                  stderr=asyncio.subprocess.PIPE)
    try:
        await provider_sink.wait_for_request("twilio", timeout=30)
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == 0, stderr.decode()[-2000:]
    sms = await state_of(admin, sent["CHANNEL_SMS"])
    assert (sms.state, sms.attempts) == (pb.SENT, 1)
    assert len(provider_sink.received("twilio")) == 1
    await admin.close()
