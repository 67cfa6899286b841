"""engage.operations.v1.OperationsService: the operator's status, translated to the wire."""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf import duration_pb2

from engage.operations.v1 import operations_service_pb2 as pb
from engage.operations.v1 import operations_service_pb2_grpc as pb_grpc
from server.domain.operations import CronOutcome, OperationsStatus
from server.rpc.context import current_caller
from server.rpc.convert import timestamp_to_proto
from server.services.operations import OperationsService

_OUTCOMES = {CronOutcome.SUCCEEDED: pb.CronRun.OUTCOME_SUCCEEDED, CronOutcome.FAILED: pb.CronRun.OUTCOME_FAILED}


def _duration(value: dt.timedelta | None) -> duration_pb2.Duration | None:
    if value is None:
        return None
    duration = duration_pb2.Duration()
    duration.FromTimedelta(value)
    return duration


def status_to_proto(status: OperationsStatus) -> pb.OperationsStatus:
    queue = status.queue.queue
    return pb.OperationsStatus(
        status_time=timestamp_to_proto(status.checked_at), serving=status.serving,
        serving_detail=status.serving_detail,
        queue=pb.QueueStatus(queue_name=queue.queue_name, redis_reachable=queue.reachable, redis_error=queue.error,
                             queued=queue.queued, running=queue.running, deferred=queue.deferred,
                             oldest_queued_age=_duration(queue.oldest_queued_age)),
        workers=[pb.WorkerHeartbeat(worker_id=w.worker_id, start_time=timestamp_to_proto(w.started_at),
                                    heartbeat_time=timestamp_to_proto(w.beat_at), jobs_complete=w.jobs_complete,
                                    jobs_failed=w.jobs_failed, jobs_retried=w.jobs_retried,
                                    jobs_running=w.jobs_running) for w in status.queue.workers],
        cron_runs=[pb.CronRun(name=r.name, start_time=timestamp_to_proto(r.started_at), duration=_duration(r.duration),
                              outcome=_OUTCOMES[r.outcome] if r.outcome else pb.CronRun.OUTCOME_UNSPECIFIED,
                              error=r.error, worker_id=r.worker_id,
                              running_since=timestamp_to_proto(r.running_since)) for r in status.queue.cron_runs],
        abandoned_domain_events=status.abandoned_domain_events,
        failed_deliveries=[pb.FailedDeliveries(state=f.state, error_code=f.error_code, count=f.count)
                           for f in status.failed_deliveries],
        failed_window=_duration(status.failed_window))


class OperationsServicer(pb_grpc.OperationsServiceServicer):
    def __init__(self, operations: OperationsService) -> None:
        self._operations = operations

    async def GetStatus(self, request: pb.GetStatusRequest, context: grpc.aio.ServicerContext) -> pb.OperationsStatus:
        return status_to_proto(await self._operations.status(current_caller()))
