"""build_server: the grpc.aio server with every landed service, health and reflection. No I/O here
beyond binding the port."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from engage.engagement.v1 import engagement_service_pb2, engagement_service_pb2_grpc
from engage.goals.v1 import goals_service_pb2, goals_service_pb2_grpc
from engage.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
from engage.insights.v1 import insights_service_pb2, insights_service_pb2_grpc
from engage.journeys.v1 import journeys_service_pb2, journeys_service_pb2_grpc
from engage.operations.v1 import operations_service_pb2, operations_service_pb2_grpc
from engage.personas.v1 import personas_service_pb2, personas_service_pb2_grpc
from engage.products.v1 import products_service_pb2, products_service_pb2_grpc
from engage.reporting.v1 import reporting_service_pb2, reporting_service_pb2_grpc
from engage.subscriptions.v1 import subscriptions_service_pb2, subscriptions_service_pb2_grpc
from engage.triggers.v1 import (
    bank_notifications_service_pb2,
    bank_notifications_service_pb2_grpc,
    banners_service_pb2,
    banners_service_pb2_grpc,
    offers_service_pb2,
    offers_service_pb2_grpc,
    trigger_rules_service_pb2,
    trigger_rules_service_pb2_grpc,
)
from server.bootstrap import Services
from server.health import is_ready
from server.queue_status import read_queue
from server.rpc.bank_notifications_servicer import BankNotificationsServicer
from server.rpc.banners_servicer import BannersServicer
from server.rpc.engagement_servicer import EngagementServicer
from server.rpc.goals_servicer import GoalsServicer
from server.rpc.ingest_servicer import IngestServicer
from server.rpc.insights_servicer import InsightsServicer
from server.rpc.interceptor import EngageInterceptor
from server.rpc.journeys_servicer import JourneysServicer
from server.rpc.offers_servicer import OffersServicer
from server.rpc.operations_servicer import OperationsServicer
from server.rpc.personas_servicer import PersonasServicer
from server.rpc.products_servicer import ProductsServicer
from server.rpc.reporting_servicer import ReportingServicer
from server.rpc.subscriptions_servicer import SubscriptionsServicer
from server.rpc.triggers_servicer import TriggerRulesServicer
from server.security.tokens import TokenVerifier
from server.services.operations import OperationsService
from server.services.triggers.backtest import TriggerBacktestService

SERVICE_NAMES = [
    ingest_service_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name,
    insights_service_pb2.DESCRIPTOR.services_by_name["InsightsService"].full_name,
    subscriptions_service_pb2.DESCRIPTOR.services_by_name["SubscriptionsService"].full_name,
    engagement_service_pb2.DESCRIPTOR.services_by_name["EngagementService"].full_name,
    operations_service_pb2.DESCRIPTOR.services_by_name["OperationsService"].full_name,
    goals_service_pb2.DESCRIPTOR.services_by_name["GoalsService"].full_name,
    personas_service_pb2.DESCRIPTOR.services_by_name["PersonasService"].full_name,
    journeys_service_pb2.DESCRIPTOR.services_by_name["JourneysService"].full_name,
    products_service_pb2.DESCRIPTOR.services_by_name["ProductsService"].full_name,
    bank_notifications_service_pb2.DESCRIPTOR.services_by_name["BankNotificationsService"].full_name,
    offers_service_pb2.DESCRIPTOR.services_by_name["OffersService"].full_name,
    trigger_rules_service_pb2.DESCRIPTOR.services_by_name["TriggerRulesService"].full_name,
    banners_service_pb2.DESCRIPTOR.services_by_name["BannersService"].full_name,
    reporting_service_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name,
]


def build_server(services: Services, address: str) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    settings = services.settings
    interceptor = EngageInterceptor(TokenVerifier.from_settings(settings), services.tenants)
    server = grpc.aio.server(
        interceptors=[interceptor],
        # Past this many calls in flight new ones get RESOURCE_EXHAUSTED instead of queueing forever.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        options=[
            ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
            ("grpc.max_send_message_length", settings.max_receive_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    ingest_service_pb2_grpc.add_IngestServiceServicer_to_server(
        IngestServicer(services.ingestion, services.statements), server)
    insights_service_pb2_grpc.add_InsightsServiceServicer_to_server(InsightsServicer(services.insights), server)
    subscriptions_service_pb2_grpc.add_SubscriptionsServiceServicer_to_server(
        SubscriptionsServicer(services.subscriptions), server)
    engagement_service_pb2_grpc.add_EngagementServiceServicer_to_server(EngagementServicer(
        services.engagement_setup, services.engagement, services.campaigns, services.otp, services.payment_alerts),
        server)
    operations_service_pb2_grpc.add_OperationsServiceServicer_to_server(OperationsServicer(OperationsService(
        services.database, services.bus, lambda now: read_queue(services.redis, settings.queue_name, now),
        lambda: is_ready(services))), server)
    goals_service_pb2_grpc.add_GoalsServiceServicer_to_server(GoalsServicer(
        services.goals, services.goal_tracking, services.goal_funding, services.goal_reports), server)
    personas_service_pb2_grpc.add_PersonasServiceServicer_to_server(
        PersonasServicer(services.personas, services.audiences), server)
    products_service_pb2_grpc.add_ProductsServiceServicer_to_server(ProductsServicer(services.products), server)
    journeys_service_pb2_grpc.add_JourneysServiceServicer_to_server(JourneysServicer(services.journeys), server)
    bank_notifications_service_pb2_grpc.add_BankNotificationsServiceServicer_to_server(
        BankNotificationsServicer(services.bank_notifications), server)
    offers_service_pb2_grpc.add_OffersServiceServicer_to_server(OffersServicer(services.offers), server)
    trigger_rules_service_pb2_grpc.add_TriggerRulesServiceServicer_to_server(
        TriggerRulesServicer(services.trigger_rules, TriggerBacktestService(services.database)), server)
    banners_service_pb2_grpc.add_BannersServiceServicer_to_server(BannersServicer(services.banners), server)
    reporting_service_pb2_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(services), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind {address}")
    return server, port, health_servicer
