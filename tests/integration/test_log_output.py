"""What the processes print: readable lines on a terminal, JSON lines to a pipe (or as ENGAGE_LOG_FORMAT
says), arq's per-job chatter only at debug while job failures still show, and a missing REDIS_URL said
in one line. Each runs a real Python process, under a pseudo-terminal or with its stderr piped."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")

LOG_TWO_LINES = """
import logging, structlog
from server.config import Settings
from server.logging import configure_logging
settings = Settings()
configure_logging(settings.log_level, settings.log_format)
structlog.get_logger("engage.test").info("rpc_finished", method="GetBalance", ms=3)
logging.getLogger("alembic").warning("from the standard library")
"""

RUN_ARQ_JOBS = """
import asyncio, sys
from arq import Worker, cron
from arq.connections import create_pool
from server.config import Settings
from server.logging import configure_logging
from server.queue import redis_settings

async def fine(ctx): return None
async def broken(ctx): raise ValueError("the job's own error")
async def tick(ctx): return None

async def main(url, queue):
    redis = await create_pool(redis_settings(url))
    await redis.enqueue_job("fine", _queue_name=queue)
    await redis.enqueue_job("broken", _queue_name=queue)
    worker = Worker(functions=[fine, broken], cron_jobs=[cron(tick, run_at_startup=True)], redis_pool=redis,
                    queue_name=queue, burst=True, poll_delay=0, max_tries=1, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()

settings = Settings()
configure_logging(settings.log_level, settings.log_format)
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_") and k != "REDIS_URL"}
    return {**env, "ENGAGE_VAR_DIR": str(tmp_path), **settings}


def run(args: list[str], env: dict[str, str], *, terminal: bool) -> tuple[int, str]:
    """(exit code, what the process wrote to stderr), stderr a pseudo-terminal or a pipe."""
    command = [sys.executable, *args]
    if not terminal:
        done = subprocess.run(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120)
        return done.returncode, done.stderr
    controller, follower = pty.openpty()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=follower)
    os.close(follower)
    written = b""
    try:
        while chunk := os.read(controller, 65536):
            written += chunk
    except OSError:  # EIO: the process closed its end
        pass
    finally:
        os.close(controller)
    return process.wait(timeout=120), written.decode().replace("\r\n", "\n")


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_logs_are_json_lines_when_stderr_is_a_pipe(tmp_path: Path) -> None:
    code, written = run(["-c", LOG_TWO_LINES], environment(tmp_path), terminal=False)
    assert code == 0
    lines = json_lines(written)
    assert [(line["event"], line["level"]) for line in lines] == [
        ("rpc_finished", "info"), ("from the standard library", "warning")]
    assert lines[0]["method"] == "GetBalance" and lines[1]["logger"] == "alembic"


def test_logs_are_readable_lines_on_a_terminal(tmp_path: Path) -> None:
    code, written = run(["-c", LOG_TWO_LINES], environment(tmp_path), terminal=True)
    assert code == 0
    lines = ANSI.sub("", written).splitlines()
    assert len(lines) == 2 and not any(line.startswith("{") for line in lines)
    assert re.search(r"\[info\s*\] rpc_finished\s+method=GetBalance ms=3$", lines[0])
    assert re.search(r"\[warning\s*\] from the standard library\s+\[alembic\]", lines[1])
    assert ANSI.search(written)  # coloured, as a terminal shows it


@pytest.mark.parametrize(("asked", "terminal", "expect_json"), [
    ("json", True, True), ("console", False, False), ("auto", False, True), ("auto", True, False)])
def test_the_format_asked_for_wins_over_what_stderr_is(tmp_path: Path, asked: str, terminal: bool,
                                                       expect_json: bool) -> None:
    code, written = run(["-c", LOG_TWO_LINES], environment(tmp_path, ENGAGE_LOG_FORMAT=asked), terminal=terminal)
    assert code == 0
    first = written.splitlines()[0]
    assert first.startswith("{") is expect_json
    if not terminal:
        assert not ANSI.search(written)  # no colour codes in a file or a pipe


def test_arqs_job_and_cron_chatter_is_debug_and_a_failed_job_still_shows(tmp_path: Path, redis_url: str) -> None:
    def arq_lines(level: str) -> list[dict[str, object]]:
        queue = f"engage:test:logs:{uuid.uuid4().hex}"
        code, written = run(["-c", RUN_ARQ_JOBS, redis_url, queue],
                            environment(tmp_path, ENGAGE_LOG_LEVEL=level), terminal=False)
        assert code == 0, written
        return [line for line in json_lines(written) if line.get("logger") == "arq.worker"]

    quiet = arq_lines("INFO")
    failures = [line for line in quiet if "broken failed" in str(line["event"])]
    assert [line["level"] for line in failures] == ["error"]
    assert "ValueError: the job's own error" in str(failures[0].get("exception"))
    assert not [line for line in quiet if re.search("[→←]", str(line["event"]))]

    chatty = arq_lines("DEBUG")
    routine = [(line["level"], str(line["event"])) for line in chatty if re.search("[→←]", str(line["event"]))]
    assert {level for level, _ in routine} == {"debug"}
    assert any("cron:tick()" in event for _, event in routine) and any("fine()" in event for _, event in routine)


@pytest.mark.parametrize("terminal", [False, True])
def test_the_server_without_redis_url_says_so_in_one_line(tmp_path: Path, terminal: bool) -> None:
    code, written = run(["-m", "server"], environment(tmp_path), terminal=terminal)
    assert code == 1
    assert len(written.splitlines()) == 1 and "Traceback" not in written
    assert "REDIS_URL is not set" in written and "make run" in written


def test_a_failed_job_on_a_terminal_shows_pythons_traceback_without_locals(tmp_path: Path, redis_url: str) -> None:
    queue = f"engage:test:logs:{uuid.uuid4().hex}"
    code, written = run(["-c", RUN_ARQ_JOBS, redis_url, queue], environment(tmp_path), terminal=True)
    shown = ANSI.sub("", written)
    assert code == 0 and "broken failed" in shown and "Traceback (most recent call last)" in shown
    assert "ValueError: the job's own error" in shown
    assert "job_try" not in shown  # a frame's locals (here the job's ctx) stay off the screen
    assert not re.search("[→←]", shown)
