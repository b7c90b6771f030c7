"""structlog, configured once: JSON lines in production, readable console in development.

``POHUB_LOG=json`` (or ``CI``/no TTY) picks JSON. Context variables (message id, PO number,
target) are merged into every line of a message's journey.
"""

from __future__ import annotations

import logging
import os
import sys

import orjson
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
    # JSON lines through orjson straight to stderr's bytes: about a third of the cost of the
    # stdlib json renderer and a text print per line, and every delivery logs a line.
    binary = getattr(sys.stderr, "buffer", None)
    renderer: structlog.typing.Processor
    factory: structlog.typing.WrappedLogger
    if not as_json:
        renderer, factory = (
            structlog.dev.ConsoleRenderer(),
            structlog.PrintLoggerFactory(sys.stderr),
        )
    elif binary is not None:
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = structlog.BytesLoggerFactory(binary)
    else:  # a stderr without bytes underneath (replaced by a test or an embedding app)
        renderer = structlog.processors.JSONRenderer(
            serializer=lambda v, **kw: orjson.dumps(v, default=kw.get("default")).decode()
        )
        factory = structlog.PrintLoggerFactory(sys.stderr)
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
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
