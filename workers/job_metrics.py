"""Each job's end, counted by function and outcome (server.metrics.count_job) as arq itself decides it:
its counters jobs_complete / jobs_retried / jobs_failed move in one place for every path a job takes
(ran, asked to retry, cancelled, timed out, expired, out of tries). EngageWorker turns those counters
into properties that tell the JobRun of the job whose run_job moved them; each run_job is a task of
its own (arq's start_jobs), so a context variable holds the job's run for it and for the function's
task, which copies that context."""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass
from typing import Any

from arq import Retry
from arq.typing import WorkerCoroutine
from arq.worker import RetryJob

from server.metrics import count_job

UNKNOWN_FUNCTION = "<unknown>"  # a job whose record Redis no longer had or that could not be read


@dataclass
class JobRun:
    function: str = UNKNOWN_FUNCTION
    seconds: float | None = None  # how long the function ran; None when it never started
    raised: BaseException | None = None
    counted: str | None = None  # which of arq's counters the job moved: complete, retried, failed

    def outcome(self) -> str | None:
        match self.counted:
            case "complete":
                return "ok"
            case "retried":
                # arq runs again both a job that raised Retry and one cancelled with its stopping worker.
                return "retry" if isinstance(self.raised, Retry | RetryJob) else "cancelled"
            case "failed":
                return "failed"
        return None

    def report(self) -> None:
        outcome = self.outcome()
        if outcome is not None:
            count_job(self.function, outcome, self.seconds)


CURRENT_JOB: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar("engage_current_job", default=None)


def function_label(registered_name: str) -> str:
    """The function's name as graphed: cron jobs are registered as `cron:<name>@<queue>`
    (workers.settings), and the queue is the deployment's, not the function's."""
    return registered_name.partition("@")[0]


def timed(registered_name: str, coroutine: WorkerCoroutine) -> WorkerCoroutine:
    """The job function, noting its name, its running time and what it raised on the job's run."""
    label = function_label(registered_name)

    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        job = CURRENT_JOB.get()
        started = time.monotonic()
        if job is not None:
            job.function = label
        try:
            return await coroutine(ctx, *args, **kwargs)
        except BaseException as exc:
            if job is not None:
                job.raised = exc
            raise
        finally:
            if job is not None:
                job.seconds = time.monotonic() - started

    return run


def note_counted(kind: str, moved_by: int) -> None:
    job = CURRENT_JOB.get()
    if job is not None and moved_by > 0:
        job.counted = kind
