"""How ``hookgate serve`` runs uvicorn: the transport limits of a gateway exposed directly to the internet.

uvicorn's httptools protocol, the fast one, reads request headers and bodies with no deadline and no size cap, and
its WebSocket protocol takes messages of 16 MiB, the first one included, before the application has seen a key.
:class:`ServerConfig` serves the gateway with two small subclasses of uvicorn's protocols that add what is missing
(the values are ``[limits]`` keys, documented in docs/security.md):

- ``header_timeout_s``: from the connection (or the first byte of the next request on a kept-alive connection) to
  the end of the request's headers; past it, ``408`` and the connection is closed;
- ``max_header_bytes``: request line and headers together; past it, ``431`` and the connection is closed;
- ``body_timeout_s``: the longest silence between two parts of a request body while the gateway waits for it;
  past it, ``408`` (or a close once an answer has started) and the connection is closed;
- ``keep_alive_timeout_s``: how long an idle connection is kept between requests (uvicorn's own setting);
- WebSocket messages: at most ``max_body_bytes``, and :data:`FIRST_WS_MESSAGE_BYTES` until the gateway has
  answered the client (``connection_init``, which carries the key, and anything sent before the ack). A larger
  message is refused from its frame header, before its payload is read: the socket is closed with code 1009
  (RFC 6455's "message too big").

It also runs the garbage collector's young collection when an answer leaves the server idle (:func:`collect_young`),
so that ``tune_gc_for_serving``'s (gateway/app.py) high threshold is not reached in the middle of a request.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import Any, Final

import orjson
from uvicorn import Config, Server
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from gateway.config import Limits

log = logging.getLogger("hookgate.server")

#: The largest WebSocket message accepted before the gateway has answered: ``connection_init`` is a few hundred bytes.
FIRST_WS_MESSAGE_BYTES = 64 * 1024
#: The close code for a WebSocket message over its limit (RFC 6455, section 7.4.1).
WS_MESSAGE_TOO_BIG = 1009
#: After an answer that leaves the server idle, the young generation is collected once this many container objects
#: (net) were allocated since the last collection. A request leaves its objects in reference cycles (graphql-core's
#: and Strawberry's execution, asyncio futures, httpx and aiohttp responses, uvicorn's cycle: about 260 container
#: objects for ``nodes`` over 50 ids, 830 for the dashboard, and everything they hold), which only the collector
#: frees. Left to the automatic threshold of ``tune_gc_for_serving`` (50,000) they were freed about every 200
#: requests in one collection of 50,000 objects that paused the loop for 40 to 180 ms, inside whichever request was
#: running (bench/tail.py). Under the default threshold (700) the count never gets here, so this changes nothing
#: where the server does not tune the collector.
YOUNG_COLLECTION_AT: Final = 1_000
#: Idle means every request task done; past this many tasks (requests in flight, WebSocket connections) the server
#: is taken as busy without looking at each.
IDLE_TASKS_CHECKED: Final = 8


def collect_young() -> None:
    """Collect the young generation if :data:`YOUNG_COLLECTION_AT` is passed, the older ones when they are due.

    Made when an answer has been written and no other request is in flight: the requests' cyclic garbage is dead
    then, and the pause is what a few requests left (about a millisecond), between answers rather than 50,000
    objects' worth in the middle of one. Under concurrent load the server is rarely idle and the automatic threshold
    decides, as before: collecting after every answer there traversed the live objects of the requests in flight
    and promoted them, 12 to 22% more CPU per request. The older generations are collected on CPython's own rule
    (every ``threshold1`` young collections, every ``threshold2`` of those), which the automatic collection no
    longer applies to the young collections made here.
    """
    count0, count1, count2 = gc.get_count()
    if count0 < YOUNG_COLLECTION_AT:
        return
    _, threshold1, threshold2 = gc.get_threshold()
    generation = 0
    if count1 >= threshold1:
        generation = 2 if count2 >= threshold2 else 1
    gc.collect(generation)


def _collect_young_if_idle(tasks: set[asyncio.Task[None]]) -> None:
    # The answering request's task is among them, done by now: it finished in the step that wrote the answer.
    if all(task.done() for task in tasks):
        collect_young()


class ServerConfig(Config):
    """uvicorn's configuration with the gateway's transport limits and protocols (picklable, for ``--workers``)."""

    def __init__(self, app: Any, *, limits: Limits, **kwargs: Any) -> None:
        self.limits = limits
        kwargs.setdefault("http", GatewayHttpProtocol)
        kwargs.setdefault("ws", GatewayWebSocketProtocol)
        kwargs.setdefault("ws_max_size", limits.max_body_bytes)
        kwargs.setdefault("timeout_keep_alive", limits.keep_alive_timeout_s)
        super().__init__(app, **kwargs)


def serve(config: ServerConfig) -> None:
    """Run the server as ``uvicorn.run`` does (one process, or ``config.workers``); exit 3 if it never started."""
    server = Server(config=config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:  # pragma: no cover - the terminal's Ctrl-C
        pass
    if config.workers == 1 and not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE


def _limits_of(config: Config) -> Limits:
    return config.limits if isinstance(config, ServerConfig) else Limits()


def _error_response(status: int, message: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete HTTP/1.1 answer with a GraphQL-over-HTTP error body, closing the connection."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]})
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head.extend([name, b": ", value, b"\r\n"])
    head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body))
    return b"".join(head) + body


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, a header size cap and a body idle timeout."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = _limits_of(config)
        self.header_timeout_s = limits.header_timeout_s
        self.body_timeout_s = limits.body_timeout_s
        self.max_header_bytes = limits.max_header_bytes
        self._awaiting_headers = True  # between requests, or in a request's line and headers
        self._header_bytes = 0
        self._message_ended_in_chunk = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_seen_at = 0.0
        self._refused = False  # answered 408 or 431 and closing: the rest of what was received is ignored
        self._upgraded = False  # handed over to the WebSocket protocol
        self._request_begun = False  # the parser has seen the first byte of the request it is reading

    # -- connection -------------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()  # a connection that sends nothing at all is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._message_ended_in_chunk = False
        super().data_received(data)
        if self._refused or self._upgraded:
            return
        if self._awaiting_headers:
            # Which part of a chunk that also ended the previous request belongs to the next one is unknown: count
            # from the next chunk then (the cap may be passed by one read, never hit by a request's own body).
            if not self._message_ended_in_chunk:
                self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431, f"request headers are larger than {self.max_header_bytes} bytes")
            elif self._header_bytes or self._request_begun:
                self._arm_header_timer()  # a request left incomplete by this read: the deadline runs
        elif self._body_timer is None and self.cycle is not None and self.cycle.more_body:
            self._body_seen_at = self.loop.time()  # a body left incomplete by this read: the idle timeout runs
            self._body_timer = self.loop.call_later(self.body_timeout_s, self._body_timed_out)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        tasks = self.server_state.tasks
        if len(tasks) <= IDLE_TASKS_CHECKED:
            # Soon, not now: the request's task is still unwinding (its objects are garbage once it has returned).
            self.loop.call_soon(_collect_young_if_idle, tasks)

    def handle_websocket_upgrade(self) -> None:
        self._upgraded = True
        self._cancel_header_timer()
        super().handle_websocket_upgrade()

    # -- parser callbacks -------------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._request_begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        # Headers that arrived whole within one read: measured here (request line, names, values, separators).
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) + 16
        if size > self.max_header_bytes:
            self._refuse(431, f"request headers are larger than {self.max_header_bytes} bytes")
            return
        self._awaiting_headers = False
        self._header_bytes = 0
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_seen_at = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._cancel_body_timer()
        self._awaiting_headers = True
        self._request_begun = False
        self._header_bytes = 0
        self._message_ended_in_chunk = True
        super().on_message_complete()

    # -- timers -----------------------------------------------------------------------------------------------------

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self._refused or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The previous request is still being answered: the next one's deadline waits for it.
            self._arm_header_timer()
            return
        if not (self._request_begun or self._header_bytes):
            # Nothing of a request arrived on a new connection: close it, no answer is due.
            log.debug("no request from %s within %.1f s: closed", self.client, self.header_timeout_s)
            self.transport.close()
            return
        log.debug("request headers from %s incomplete after %.1f s: 408", self.client, self.header_timeout_s)
        self._refuse(408, f"request headers were not received within {self.header_timeout_s:g} s")

    def _arm_body_timer(self, delay: float) -> None:
        self._cancel_body_timer()
        self._body_timer = self.loop.call_later(max(delay, 0.0), self._body_timed_out)

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        idle = self.loop.time() - self._body_seen_at
        if self.flow.read_paused:
            # The gateway is not reading (the body waits in a buffer): not the client's silence. Look again later.
            self._body_seen_at = self.loop.time()
            self._arm_body_timer(self.body_timeout_s)
            return
        if idle < self.body_timeout_s:
            self._arm_body_timer(self.body_timeout_s - idle)
            return
        log.debug("request body from %s idle for %.1f s: 408", self.client, self.body_timeout_s)
        self._refuse(408, f"the request body stalled for {self.body_timeout_s:g} s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` where an answer is due and none is under way, then close the connection."""
        cycle = self.cycle
        if self._awaiting_headers:  # the request has no cycle yet: ``cycle`` is the previous request's
            answer = cycle is None or cycle.response_complete
        else:  # the request's application runs: it reads a disconnect, and whatever it answers goes nowhere
            answer = cycle is not None and not cycle.response_started
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
        if answer:
            self.transport.write(_error_response(status, message, self.server_state.default_headers))
        self._refused = True
        self._cancel_header_timer()
        self._cancel_body_timer()
        self.transport.close()


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol that caps messages at :data:`FIRST_WS_MESSAGE_BYTES` until the gateway answers.

    websockets checks a frame's declared length against the cap before reading its payload, and closes with 1009.
    The cap is read when a frame's first bytes arrive, so a frame the client sends after the ack gets the full one.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._full_message_size = self.conn.max_message_size
        self._answered = False
        first = FIRST_WS_MESSAGE_BYTES
        self.conn.max_message_size = first if self._full_message_size is None else min(first, self._full_message_size)

    async def send(self, message: Any) -> None:
        if not self._answered and message["type"] == "websocket.send":
            self._answered = True
            self.conn.max_message_size = self._full_message_size
        await super().send(message)
