"""Every call that hands work to the workers answers OK while Redis is away: what it committed waits in
the database's outboxes, and the relay sweeps hand it to the queue once Redis is back (the fault test
tests/e2e/test_redis_outage.py shows that part). Before, RetryDeliveries and RunInsightBatch answered
INTERNAL after their commit."""

import datetime as dt

import pytest
from sqlalchemy import update

from engage.engagement.v1 import engagement_service_pb2 as pb
from engage.insights.v1 import insights_service_pb2 as insights_pb
from engage.type.v1 import date_pb2
from server.app import build_server
from server.bootstrap import build_services
from server.domain.auth import Role
from server.embedded_redis import EmbeddedRedis
from server.security.tokens import mint_token
from server.store.engagement_models import DeliveryRow
from tests.conftest import RunningServer
from tests.support.builders import seed_accounts, stream, transaction
from tests.support.yes_bank import add_customer, set_up_yes_bank


@pytest.fixture
async def server_without_redis(settings, tmp_path):
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    own = settings.model_copy(update={"redis_url": redis.url})
    services = await build_services(own)
    grpc_server, port, _ = build_server(services, "127.0.0.1:0")
    await grpc_server.start()
    try:
        yield RunningServer(f"127.0.0.1:{port}", own, services), redis
    finally:
        await grpc_server.stop(1)
        await services.close()
        redis.stop()


async def test_calls_that_hand_work_to_the_workers_answer_while_redis_is_away(
        server_without_redis, tenant, smtp_sink, provider_sink):
    server, redis = server_without_redis
    hour = dt.timedelta(hours=1)
    admin = server.stubs(mint_token(server.settings, tenant=tenant, role=Role.BANK_ADMIN, subject="ops", ttl=hour))
    service = server.stubs(mint_token(server.settings, tenant=tenant, role=Role.SERVICE, subject="core", ttl=hour))
    try:
        bank = await set_up_yes_bank(admin, smtp_host=smtp_sink.host, smtp_port=smtp_sink.port,
                                     provider_base_url=provider_sink.base_url)
        await add_customer(service, bank.app)
        await seed_accounts(service, "lisa-customer", "lisa-savings")
        redis.process.kill()
        redis.process.wait()

        await service.ingest.IngestTransactions(stream([transaction("t1", "lisa-savings", "25.00")]))
        triggered = await service.engagement.TriggerEvent(pb.TriggerEventRequest(
            event=bank.notice_event, customer_id="lisa-customer", data={"note": "while redis is away"}))
        assert triggered.deliveries
        await service.engagement.BatchTriggerEvents(pb.BatchTriggerEventsRequest(requests=[pb.TriggerEventRequest(
            event=bank.notice_event, customer_id="lisa-customer", data={"note": "a batch"})]))
        await service.engagement.SendOtp(pb.SendOtpRequest(customer_id="lisa-customer", purpose="login",
                                                           channel=pb.CHANNEL_SMS))
        await service.insights.TriggerInsights(insights_pb.TriggerInsightsRequest(customer_id="lisa-customer"))
        await admin.insights.RunInsightBatch(insights_pb.RunInsightBatchRequest(
            as_of=date_pb2.Date(year=2026, month=11, day=1)))
        async with server.services.database.sessions() as session:
            await session.execute(update(DeliveryRow).where(DeliveryRow.tenant_id == tenant)
                                  .values(state="DEAD_LETTER"))
            await session.commit()
        retried = await admin.engagement.RetryDeliveries(pb.RetryDeliveriesRequest())
        assert retried.requeued > 0
    finally:
        await admin.close()
        await service.close()
