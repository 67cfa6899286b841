"""arq keys a cron's run by the cron's name and the time it is due (`arq:in-progress:<name>:<time>`), in
one key space for all of Redis, and keeps that mark for a minute after the run. Workers of one queue
share it, so that each run happens once; a worker of another queue on the same Redis (another
deployment, a test beside this one) must not, or its run of the same cron holds this queue's back."""

from server.config import Settings
from workers.settings import worker_settings


def cron_names(queue_name: str) -> set[str]:
    return {job.name for job in worker_settings(Settings(queue_name=queue_name))["cron_jobs"]}


def test_the_workers_of_one_queue_share_each_cron_run() -> None:
    assert cron_names("engage:queue") == cron_names("engage:queue")


def test_the_workers_of_two_queues_share_no_cron_run() -> None:
    assert cron_names("engage:queue").isdisjoint(cron_names("engage:other"))
