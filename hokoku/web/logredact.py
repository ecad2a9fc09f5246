"""Keep acknowledgement-link tokens out of the web server's access log.

An ack link (``/ack/<token>``) is a bearer credential until it is used or expires. uvicorn's
access logger writes every request path; :class:`RedactAckTokens` rewrites the path in those
records to ``/ack/[redacted]`` before any handler formats them. It is attached to the
``uvicorn.access`` logger when the ASGI app is created (so any uvicorn run redacts) and to the
access handler of the log configuration ``hokoku serve`` gives uvicorn.
"""

from __future__ import annotations

import copy
import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_ACK = re.compile(r"(/ack/)[^/?#\s\"]+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return _ACK.sub(REDACTED, text)


class RedactAckTokens(logging.Filter):
    """Rewrites ``/ack/<token>`` in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactAckTokens) for f in logger.filters):
        logger.addFilter(RedactAckTokens())


def uvicorn_log_config() -> dict:
    """uvicorn's default log configuration with the redacting filter on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_ack_tokens"] = {"()": "hokoku.web.logredact.RedactAckTokens"}
    config["handlers"]["access"]["filters"] = ["redact_ack_tokens"]
    return config
