"""arq WorkerSettings: the job functions and cron jobs; on_startup builds the same services the
gRPC server uses into ctx."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from arq import cron, func
from arq.cron import CronJob

from server.bootstrap import build_services
from server.config import Settings
from server.domain.engagement.retry_policy import RetryPolicy
from server.domain.triggers.notifications import webhook_retry_policy
from server.metrics import PrometheusActivityMetrics, count_recorded
from server.queue import redis_settings
from server.queue_status import HEARTBEAT_INTERVAL_SECONDS
from server.services.dispatch import DispatchService
from server.services.triggers.webhooks import WebhookDeliveryService
from workers.channels.egress import EgressPolicy
from workers.context import WorkerContext, arq_job, cron_task
from workers.gateway import ChannelSenders
from workers.rate_limit import RedisRateLimiter
from workers.tasks.derived_attributes import refresh_derived_attributes
from workers.tasks.domain_events import process_domain_event, process_ingest_event, relay_lost_domain_events
from workers.tasks.engagement import (
    apply_early_receipts,
    dispatch_delivery,
    dispatch_due,
    relay_lost_deliveries,
    run_campaign,
    start_due_campaigns,
    sweep_fallbacks,
)
from workers.tasks.goal_funding import plan_goal_transfers, relay_goal_transfers
from workers.tasks.insights import evaluate_insight_chunk, resend_lost_insight_chunks, start_due_insight_batches
from workers.tasks.offers import recommend_offers
from workers.tasks.payment_alerts import send_payment_reminders
from workers.tasks.triggers import recheck_trigger_rules
from workers.tasks.webhooks import deliver_webhook, relay_lost_webhook_deliveries
from workers.webhook_poster import EgressWebhookPoster


async def startup(ctx: WorkerContext) -> None:
    settings = ctx.get("settings") or Settings()
    services = await build_services(settings, statement_timeout_seconds=settings.worker_db_statement_timeout_seconds)
    ctx["services"] = services
    assert services.redis is not None  # built with the queue: workers always have one
    ctx["senders"] = ChannelSenders(EgressPolicy.from_setting(settings.provider_networks_allowed))
    ctx["dispatch"] = DispatchService(
        services.database, services.secret_box, services.publisher, ctx["senders"],
        RedisRateLimiter(services.redis, settings.queue_name),
        RetryPolicy(max_tries=settings.delivery_max_tries, base_delay_seconds=settings.delivery_retry_base_seconds),
        dt.timedelta(seconds=settings.delivery_lease_seconds),
        settings.default_rate_limit_per_second, services.receipt_urls if settings.receipts_base_url else None,
        on_recorded=count_recorded, tenant_active=services.tenants.is_active,
        fallback_step_failed=services.engagement.advance_fallbacks)
    ctx["webhook_poster"] = EgressWebhookPoster(EgressPolicy.from_setting(settings.provider_networks_allowed))
    ctx["webhooks"] = WebhookDeliveryService(
        services.database, services.secret_box, services.publisher, ctx["webhook_poster"],
        webhook_retry_policy(settings.delivery_max_tries, settings.delivery_retry_base_seconds),
        metrics=PrometheusActivityMetrics())


async def shutdown(ctx: WorkerContext) -> None:
    senders = ctx.get("senders")
    if senders is not None:
        await senders.aclose()
    poster = ctx.get("webhook_poster")
    if poster is not None:
        await poster.aclose()
    services = ctx.get("services")
    if services is not None:
        await services.close()


def _of_this_queue(queue_name: str, cron_jobs: list[CronJob]) -> list[CronJob]:
    """The cron jobs, named after the queue too. arq keys a cron's run by its name and time alone (the
    in-progress mark `arq:in-progress:cron:<name>:<time>`), for the whole Redis, and keeps a run's mark
    for a minute after it ends: a worker of another queue on the same Redis (another deployment, a test
    beside this one) that ran the same cron at the same time kept this queue's run waiting out that
    minute, and a burst worker with it. Workers of one queue still run each of its crons once."""
    return [dataclasses.replace(job, name=f"{job.name}@{queue_name}") for job in cron_jobs]


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq.Worker; tests pass their own settings (queue name, Redis)."""
    return {
        "functions": [process_domain_event, process_ingest_event, evaluate_insight_chunk, run_campaign,
                      plan_goal_transfers, refresh_derived_attributes, recommend_offers, recheck_trigger_rules,
                      send_payment_reminders,
                      # A worker killed mid-send leaves its job to another within about a minute (arq
                      # re-runs it once the longest function timeout + 10 s has passed; the lease is 30 s).
                      func(arq_job(dispatch_delivery), timeout=settings.delivery_lease_seconds),
                      # One job per tenant and dispatch window, draining batches for up to one and a
                      # half leases; no result worth keeping.
                      func(arq_job(dispatch_due), timeout=2 * settings.delivery_lease_seconds, keep_result=0),
                      deliver_webhook],
        "cron_jobs": _of_this_queue(settings.queue_name, [
            # Four times a minute: events announced while Redis was down go out within a sweep of its return.
            cron(cron_task(relay_lost_domain_events), second={0, 15, 30, 45}, run_at_startup=True),
            cron(cron_task(resend_lost_insight_chunks), minute={5, 20, 35, 50}, second=0),
            # Hourly, so that each tenant's 1st is caught in its own time zone; a batch per day at most.
            cron(cron_task(start_due_insight_batches), minute=1, second=0, unique=True),
            # Redis is lossy: the outbox sweep re-sends what it lost, four times a minute.
            cron(cron_task(relay_lost_deliveries), second={5, 20, 35, 50}, run_at_startup=True),
            # Delivery reports that came before their message was recorded as sent.
            cron(cron_task(apply_early_receipts), second={12, 27, 42, 57}, run_at_startup=True),
            # The channel fallback's timer: chains whose step was not delivered by its stored deadline.
            cron(cron_task(sweep_fallbacks), second=set(range(0, 60, 5)), run_at_startup=True),
            cron(cron_task(start_due_campaigns), second=10, unique=True),
            # Hourly, so that each tenant's day starts in its own time zone; idempotent per programme and period.
            cron(cron_task(plan_goal_transfers), minute=2, second=30, unique=True),
            # Transfers the goal-transfers stream did not take when they were requested (Redis down).
            cron(cron_task(relay_goal_transfers), second={7, 22, 37, 52}, run_at_startup=True),
            # Hourly, so that each tenant's derived attributes move with its own new day (its time zone).
            cron(cron_task(refresh_derived_attributes), minute=3, second=40, unique=True),
            # Daily, after the night's derived attributes: suggestions wait for the bank's approval anyway.
            cron(cron_task(recommend_offers), hour=5, minute=17, second=0, unique=True),
            # Daily, just after midnight UTC (the day postings are booked on): months end without postings.
            cron(cron_task(recheck_trigger_rules), hour=0, minute=4, second=50, unique=True),
            # Hourly, so that each tenant's reminders go out early in its own day (its time zone); once per
            # statement and alert by their trigger keys.
            cron(cron_task(send_payment_reminders), minute=6, second=20, unique=True),
            # Bank notifications' webhook deliveries whose job Redis lost.
            cron(cron_task(relay_lost_webhook_deliveries), second={2, 17, 32, 47}, run_at_startup=True),
        ]),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.redis_url or "redis://127.0.0.1:6379/0"),
        "queue_name": settings.queue_name,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay_seconds,
        # A worker killed mid-job leaves the job to be retried after this long.
        "job_timeout": 40,
        "max_tries": 8,
        # arq's health key, and each worker's own heartbeat (workers.worker), this often.
        "health_check_interval": HEARTBEAT_INTERVAL_SECONDS,
        "keep_result": 3600,
        "ctx": {"settings": settings},
        "handle_signals": True,
        "job_completion_wait": settings.worker_shutdown_wait_seconds,
    }


# For `arq workers.settings.WorkerSettings` (reads the environment, connects to nothing);
# `python -m workers` is the usual entrypoint.
WorkerSettings = type("WorkerSettings", (), worker_settings(Settings()))
