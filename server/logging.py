"""Structured logs (structlog), each line with the request id and tenant bound by the RPC interceptor
through contextvars. On a terminal they are readable lines (structlog's console renderer); otherwise, or
when asked, JSON lines, one event each. Standard-library loggers (arq, alembic) go through the same
renderer, so every line on the stream has the one form."""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog
from structlog.typing import Processor


def resolved_format(fmt: str, stream: TextIO) -> Literal["json", "console"]:
    """`auto` is for a person at a terminal (console) or for a collector reading a pipe or file (json)."""
    if fmt == "auto":
        return "console" if stream.isatty() else "json"
    if fmt not in ("json", "console"):
        raise ValueError(f"log format {fmt!r}: auto, json or console")
    return fmt  # type: ignore[return-value]


class _QuietJobChatter(logging.Filter):
    """arq logs every job's and cron's start (→) and end (←), and its health record, at INFO: a cron
    every few seconds would fill a quiet run. They are debug here. Failures (arq's ERROR with the
    traceback, WARNING for an expired job or one out of tries), retries and aborts keep their level."""

    _ROUTINE = ("s → ", "s ← ", "recording health")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and any(mark in str(record.msg) for mark in self._ROUTINE):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_ARQ_JOB_CHATTER = _QuietJobChatter()


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    stream = sys.stderr
    as_json = resolved_format(fmt, stream) == "json"
    # Python's own traceback on the console: rich's default one prints every frame's locals, a job's
    # context and a channel's secrets among them.
    renderer = (structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(
        colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback))
    # A traceback in JSON is the text under "exception"; the console renderer writes its own.
    exceptions: list[Processor] = [structlog.processors.format_exc_info] if as_json else []
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, *exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exceptions, renderer]))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # The readiness probe asks alembic for the schema revision every few seconds: not news.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    logging.getLogger("arq.worker").addFilter(_ARQ_JOB_CHATTER)
