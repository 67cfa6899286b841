"""The arq Worker as `python -m workers` runs it: stopping lets sends in flight finish and be recorded."""

from __future__ import annotations

import asyncio
from signal import Signals

from arq import Worker


class EngageWorker(Worker):
    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        # Before arq waits for the running jobs: dispatch finishes the batches it is sending and claims no
        # more (a send cancelled after the provider took it stayed SENDING, and was sent again once its
        # lease ran out).
        dispatch = self.ctx.get("dispatch")
        if dispatch is not None:
            dispatch.finish_up()
        super().handle_sig_wait_for_completion(signum)

    async def close(self) -> None:
        # arq gathers the jobs it cancelled (those still running when the wait ran out) without
        # return_exceptions: one cancelled between its own steps raised CancelledError out of close(), and
        # the process exited 1 before on_shutdown. Cancelled jobs are run again (arq's retry, our leases).
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks = {job_id: task for job_id, task in self.tasks.items() if not task.cancelled()}
        await super().close()
