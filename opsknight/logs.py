"""Structured JSON logs: one object a line, with the request id of the request being served."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


def configure(level: str) -> None:
    """Send the standard library's and structlog's records as JSON lines to stderr."""
    global _configured
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not _configured:
        structlog.configure(
            # Below the level, a call stops at the first processor: no context merged,
            # no timestamp formatted for a line nobody writes (one per request).
            processors=[
                structlog.stdlib.filter_by_level,
                *shared,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            cache_logger_on_first_use=True,
        )
        _configured = True
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers go through the same JSON handler; its access log is replaced
    # by the request line the metrics middleware writes.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


access_log = structlog.get_logger("opsknight.access")
