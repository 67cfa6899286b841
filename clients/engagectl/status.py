"""engagectl status: the deployment on one screen (server health, queue, workers, cron jobs, what failed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2

from clients.engagectl.context import cli_context
from clients.engagectl.output import Id, as_dict, console, emit_json, emit_record, emit_table
from clients.stubs import Stubs
from engage.operations.v1 import operations_service_pb2 as pb


def _ago(stamp: Timestamp, now: dt.datetime) -> str:
    """How long ago, the form a glance wants; --json has the timestamps."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return f"{_span((now - stamp.ToDatetime(tzinfo=dt.UTC)).total_seconds())} ago"


def _span(seconds: float) -> str:
    """12ms, 3.2s, 4m05s, 2h10m: short enough for a column."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _duration(value: Duration) -> str:
    return _span(value.ToTimedelta().total_seconds())


def _outcome(run: pb.CronRun) -> str:
    return pb.CronRun.Outcome.Name(run.outcome).removeprefix("OUTCOME_") if run.outcome else ""


def summary(health: str, status: pb.OperationsStatus) -> dict[str, Any]:
    queue = status.queue
    waiting = queue.oldest_queued_age.ToTimedelta() > dt.timedelta(0)
    return {
        "server": {"health": health, "database": "ready" if status.serving else status.serving_detail},
        "redis": "reachable" if queue.redis_reachable else f"unreachable: {queue.redis_error}",
        "queue": {"name": queue.queue_name, "queued": queue.queued, "running": queue.running,
                  "deferred": queue.deferred,
                  "oldest_queued_age": _duration(queue.oldest_queued_age) if waiting else "none waiting"}
        if queue.redis_reachable else {"name": queue.queue_name},
        "workers": len(status.workers) if queue.redis_reachable else "unknown (Redis unreachable)",
        "dead_letters": {"abandoned_domain_events": status.abandoned_domain_events,
                         "deliveries_in_window": sum(f.count for f in status.failed_deliveries
                                                     if f.state == "DEAD_LETTER")},
        "failed_deliveries": {"window": _duration(status.failed_window),
                              "total": sum(f.count for f in status.failed_deliveries)},
    }


def _worker_rows(status: pb.OperationsStatus, now: dt.datetime) -> list[list[Any]]:
    return [[w.worker_id, _ago(w.heartbeat_time, now), _ago(w.start_time, now), w.jobs_complete, w.jobs_failed,
             w.jobs_retried, w.jobs_running] for w in status.workers]


def _cron_rows(status: pb.OperationsStatus, now: dt.datetime) -> list[list[Any]]:
    return [[r.name, _ago(r.start_time, now), _duration(r.duration) if r.HasField("duration") else "", _outcome(r),
             _ago(r.running_since, now), r.error] for r in status.cron_runs]


WORKER_COLUMNS = ["worker_id", "last_heartbeat", "started", "jobs_complete", "jobs_failed", "jobs_retried",
                  "jobs_running"]
CRON_COLUMNS = ["name", "last_start", "duration", "outcome", "running_since", "error"]
FAILED_COLUMNS = ["state", "error_code", "count"]


def status(ctx: typer.Context) -> None:
    """The deployment on one screen: server health, the queue's depth and oldest queued job, each
    worker's heartbeat, the last run of each cron job and its duration, dead letters and the deliveries
    that failed in the last hour (the token's tenant's). Needs a bank_admin token. Exits 1 when the
    server is not serving or Redis does not answer (after printing what it could read).

    Examples:
      engagectl status
      engagectl status --json | jq .queue
    """
    cli = cli_context(ctx)

    async def read(stubs: Stubs) -> tuple[str, pb.OperationsStatus]:
        checked = await stubs.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        return (health_pb2.HealthCheckResponse.ServingStatus.Name(checked.status),
                await stubs.operations.GetStatus(pb.GetStatusRequest(), timeout=10))

    health, found = cli.call(read)
    if cli.json_output:
        emit_json({"health": health, **as_dict(found)})
    else:
        _print(health, found)
    if health != "SERVING" or not found.queue.redis_reachable:
        raise typer.Exit(1)


def _print(health: str, found: pb.OperationsStatus) -> None:
    figures = summary(health, found)
    now = found.status_time.ToDatetime(tzinfo=dt.UTC)
    workers, crons = _worker_rows(found, now), _cron_rows(found, now)
    failures = [[f.state, f.error_code or "(none)", f.count] for f in found.failed_deliveries]
    if not console.is_terminal:
        # Piped: every line `key: value`, the lists' rows indexed, for grep and cut.
        emit_record("status", {**figures,
                               "worker": [dict(zip(WORKER_COLUMNS, row, strict=True)) for row in workers],
                               "cron": [dict(zip(CRON_COLUMNS, row, strict=True)) for row in crons],
                               "failed": [dict(zip(FAILED_COLUMNS, row, strict=True)) for row in failures]})
        return
    emit_record("Engage status", figures)
    if workers:
        emit_table("workers", [Id("worker_id"), "last_heartbeat", "started", "complete", "failed", "retried",
                               "running"], workers)
    if crons:
        emit_table("cron jobs (last run)", [Id("name"), "last_start", "duration", "outcome", "running_since", "error"],
                   crons)
    if failures:
        emit_table(f"failed deliveries, last {_duration(found.failed_window)}", ["state", Id("error_code"), "count"],
                   failures)
