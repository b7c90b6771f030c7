"""structlog, configured once: JSON lines in production, readable console in development.

``POHUB_LOG=json`` (or ``CI``/no TTY) picks JSON. Context variables (message id, PO number,
target) are merged into every line of a message's journey.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

_done = False


def configure_logging(level: str | None = None) -> None:
    global _done
    if _done:
        return
    _done = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    as_json = (
        os.environ.get("POHUB_LOG", "json" if not sys.stderr.isatty() else "console") == "json"
    )
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName((level or os.environ.get("POHUB_LOG_LEVEL", "INFO")).upper())
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
