"""Structured logs: :func:`configure_logging` sends structlog's and the standard library's records (uvicorn, httpx,
stamina...) through one handler that renders JSON lines (or readable lines for a terminal), every line redacted
(gateway/observability/redaction.py).

Logging is the process's: it is configured once, by the CLI (from its options) or, for an app built without it, by
``create_app`` with the defaults (:func:`ensure_logging`); nothing is configured at import, and whether it has been
is read from the root logger itself (the handler this module installs is named ``hookgate``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

from gateway.observability.redaction import redact_processor

HANDLER_NAME = "hookgate"
_QUIET_BELOW_DEBUG = frozenset({"httpx", "httpcore", "aiosqlite"})
# uvicorn's coloured copy of its message; what another handler's Formatter left on a shared record.
_NOISY_EXTRAS = ("color_message", "message", "asctime")


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """The redacting record factory rewrites a record's message into text when it finds a secret in it. For a
    structlog line that message was the event dict (already cleaned by ``redact_processor``, so this is rare): format
    such a record as a plain one instead of failing on a dict that is now a string."""

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(record, "_logger") and not isinstance(record.msg, dict):
            record = logging.makeLogRecord({k: v for k, v in record.__dict__.items() if k not in ("_logger", "_name")})
        return super().format(record)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (pytest swaps it per test; a kept reference goes stale)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _quiet_chatty_libraries(record: logging.LogRecord) -> bool:
    """httpx logs every upstream request at INFO: useful when debugging, a flood otherwise (the metrics count them).
    A filter on our handler, not a level on their loggers, so that other handlers (pytest's caplog) still see all."""
    return record.levelno >= logging.WARNING or record.name.partition(".")[0] not in _QUIET_BELOW_DEBUG


def _no_frame_dumps(record: logging.LogRecord) -> bool:
    """websockets logs every frame at DEBUG, payload included: a subscription's ``connection_init`` carries the API
    key, and its repr truncates the payload (``{"author...``) past what redaction can recognise. Never write them."""
    return record.levelno >= logging.INFO or record.name.partition(".")[0] != "websockets"


def _drop_noise(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in _NOISY_EXTRAS:
        event_dict.pop(key, None)
    return event_dict


_FIRST_KEYS = ("timestamp", "level", "logger", "event", "request_id")


def _order_keys(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The keys a reader scans for first, then the call's own, in the order given."""
    ordered = {key: event_dict.pop(key) for key in _FIRST_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _json_dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def configure_logging(json: bool = True, level: str | int = "INFO", *, stream: TextIO | None = None) -> None:
    """One handler on the root logger, formatting structlog's and the standard library's records alike.

    ``json``: one JSON object per line (``timestamp``, ``level``, ``logger``, ``event``, ``request_id`` while a
    request is served, and the call's own keys); otherwise coloured lines for a terminal. Every line is redacted.
    Calling it again replaces the handler it installed before; other handlers (pytest's) are left alone.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=stream is None and sys.stderr.isatty())
    )
    formatter = _Formatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _drop_noise],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_processor,
            _order_keys,
            renderer,
        ],
    )
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler.setFormatter(formatter)
    handler.set_name(HANDLER_NAME)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    root.setLevel(numeric)
    # uvicorn installs handlers of its own unless told log_config=None; send its records to ours instead. Its access
    # log is silenced: the access middleware writes one access line per request, with the request id and operation.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = name != "uvicorn.access"
    handler.addFilter(_no_frame_dumps)
    if numeric > logging.DEBUG:
        handler.addFilter(_quiet_chatty_libraries)

    structlog.configure(
        processors=[
            # First: an event below its logger's level (a healthz access line, say) costs no further processing.
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            redact_processor,  # before the record exists, so that the record factory finds nothing left to rewrite
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def json_unless_terminal(log_format: str) -> bool:
    """``json``, ``console`` or ``auto`` (JSON unless stderr is a terminal): whether to write JSON lines."""
    fmt = log_format.lower()
    return fmt == "json" or (fmt != "console" and not sys.stderr.isatty())


def is_configured() -> bool:
    """Whether :func:`configure_logging` has put its handler on the root logger in this process."""
    return any(h.get_name() == HANDLER_NAME for h in logging.getLogger().handlers)


def ensure_logging() -> None:
    """The defaults (JSON unless a terminal, INFO) unless :func:`configure_logging` already ran in this process."""
    if not is_configured():
        configure_logging(json=json_unless_terminal("auto"))
