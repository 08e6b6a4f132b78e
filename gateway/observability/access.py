"""The access log: :class:`RequestObserver` binds a request's id (the one ``X-Request-Id`` returns) to every log line
written while the request is served, and writes one access line per request."""

from __future__ import annotations

import logging
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability.redaction import redact

ACCESS_LOGGER = "hookgate.access"
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObserver:
    """ASGI middleware inside ``RequestGate``: binds its request id to every log line of the request, then writes
    one access line (method, path without the query string, status, duration, and the GraphQL operation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._log = structlog.stdlib.get_logger(ACCESS_LOGGER)
        #: The standard library logger behind the access log: its level decides, as ``filter_by_level`` does, whether
        #: a line is written at all, and asking it first spares a dropped line its fields, redaction and processing.
        self._level = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status: int | None = None  # None: no answer began (a WebSocket: 101 once accepted, 403 if refused)
        error: str | None = None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and status is None:
                status = 403
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=state.get("request_id")):
            try:
                await self.app(scope, receive, send_with_status)
            except BaseException as exc:
                # Whoever catches it answers (RequestGate's 413, uvicorn's 500); this line names what happened.
                error = type(exc).__name__
                raise
            finally:
                path: str = scope.get("path", "")
                level = logging.DEBUG if path in _QUIET_PATHS and error is None else logging.INFO
                if self._level.isEnabledFor(level):
                    fields: dict[str, Any] = {
                        "method": scope.get("method", "WEBSOCKET"),
                        "path": redact(path),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                    if error is not None:
                        fields["error"] = error
                    fields.update(state.get("graphql") or {})
                    self._log.log(level, "websocket closed" if scope["type"] == "websocket" else "request", **fields)
