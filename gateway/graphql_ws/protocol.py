"""graphql-transport-ws as the gateway speaks it: text frames, one ordered writer per connection, API-key checks in
``connection_init``, and a context of its own for every operation.

- :class:`TextFrames` sends JSON as text frames (Strawberry sends orjson's bytes as binary ones, which clients refuse).
- :class:`LiveTransportWSHandler` (the view's ``graphql_transport_ws_handler_class``) gives each WebSocket one
  :class:`ConnectionWriter`: a queue of text frames written in order by one task, back to back, with no task switch
  per frame. Every message of the connection goes through it (the protocol's own and the live hub's), so a
  subscriber's replayed events always precede its live ones. Each operation runs with its own
  :class:`~gateway.context.Context`, a copy of the connection's (same principal, fresh loaders and partial errors)
  that names the operation in ``ws_operation``: the ``events`` resolver reads it there to join the live hub
  (gateway/graphql_ws/hub.py), and one operation's errors never reach another's answer.
- :class:`GraphQLOverWebSocket` is the view's WebSocket half: the two classes above, and ``on_ws_connect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,  # strawberry-graphql is pinned (pyproject.toml): run_operation below mirrors its own
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.unset import UNSET
from strawberry.utils.aio import aclosing

from gateway.auth import KeyRing
from gateway.context import Context
from gateway.errors import Unauthenticated

if TYPE_CHECKING:
    from strawberry.http.async_base_view import AsyncWebSocketAdapter

    from gateway.graphql_ws.hub import Member

log = logging.getLogger("hookgate.events")

#: The protocol's own messages (acks, replayed events, errors) wait for the writer once this many frames are queued.
HIGH_WATER: Final = 256


@dataclass(frozen=True, slots=True)
class OperationSlot:
    """The graphql-transport-ws operation a context runs for: its id, its request, and its connection's writer."""

    id: str
    query: str
    variables: dict[str, object] | None
    operation_name: str | None
    writer: ConnectionWriter


class ConnectionWriter:
    """One WebSocket's outbound text frames, written in order by one task.

    :meth:`put` never waits (a group fan-out must not wait on any one connection); :meth:`send` is for the protocol's
    own messages and waits while more than :data:`HIGH_WATER` frames are queued, which bounds what a long replay to
    a slow client can queue. Frames of a :class:`~gateway.graphql_ws.hub.Member` are counted in its ``pending``
    until written.
    """

    __slots__ = ("_encode_json", "_frames", "_idle", "_send_text", "_task", "_wakeup", "closed")

    def __init__(
        self, send_text: Callable[[str], Awaitable[None]], encode_json: Callable[[object], str | bytes]
    ) -> None:
        self._send_text = send_text
        self._encode_json = encode_json
        self._frames: deque[tuple[str, Member | None, str]] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hookgate-ws-writer")

    async def aclose(self) -> None:
        self.closed = True
        self._frames.clear()
        self._idle.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def put(self, text: str, member: Member | None = None, cursor: str = "") -> None:
        """Queue a protocol message (``text`` is the frame), or ``member``'s event at ``cursor`` (``text`` is the
        group's payload, shared by all members: the frame is made when written, so a backlog holds no copies)."""
        if self.closed:
            return
        self._frames.append((text, member, cursor))
        self._idle.clear()
        waiter = self._wakeup
        if waiter is not None:
            self._wakeup = None
            if not waiter.done():
                waiter.set_result(None)

    def encode(self, data: object) -> str:
        """``data`` as the view encodes JSON (orjson), as text: graphql-transport-ws speaks in text frames."""
        encoded = self._encode_json(data)
        return encoded.decode() if isinstance(encoded, bytes) else encoded

    async def send(self, text: str) -> None:
        self.put(text)
        if len(self._frames) > HIGH_WATER:
            await self._idle.wait()

    def discard(self, member: Member) -> None:
        """Free ``member``'s queued frames now (it was dropped: the point of the policy is the memory)."""
        if any(entry[1] is member for entry in self._frames):
            self._frames = deque(entry for entry in self._frames if entry[1] is not member)

    @property
    def backlog(self) -> int:
        return len(self._frames)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                # Back to back: uvicorn's send returns without yielding unless the socket's buffer is full, so a
                # burst of frames costs no task switch each.
                while self._frames:
                    text, member, cursor = self._frames.popleft()
                    if member is not None:
                        if member.left or member.dropped:
                            continue  # its client completed it or went away, or it was dropped
                        member.pending -= 1
                        member.sent = cursor  # handed to the transport: a drop from now on resumes after it
                        text = member.prefix + text + "}"
                    await self._send_text(text)
                self._idle.set()
                self._wakeup = loop.create_future()
                await self._wakeup
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The client went away (the reading side notices and shuts the connection down): stop writing.
            log.debug("websocket writer stopped: %s", type(exc).__name__)
            self.closed = True
            self._frames.clear()
            self._idle.set()


def _text_sender(websocket: AsyncWebSocketAdapter) -> Callable[[str], Awaitable[None]]:
    """Send already-encoded text: Starlette's WebSocket directly, or any other adapter through its ``send_json``."""
    ws = getattr(websocket, "ws", None)
    if isinstance(ws, WebSocket):
        return ws.send_text

    async def via_adapter(text: str) -> None:
        await websocket.send_json(orjson.loads(text))

    return via_adapter


def operation_context(connection: Context, slot: OperationSlot) -> Context:
    """The context one operation runs with: the connection's principal and request, its own loaders, partial errors
    and ``ws_operation``. (A connection-wide context would let one operation's errors into the next one's answer.)"""
    return Context(
        runtime=connection.runtime,
        principal=connection.principal,
        request=connection.request,
        response=connection.response,
        request_id=connection.request_id,
        connection_params=connection.connection_params,
        ws_operation=slot,
    )


class LiveTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler with one ordered writer per connection and one context per
    operation, which names the operation for the ``events`` resolver (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writer = ConnectionWriter(_text_sender(self.websocket), self.view.encode_json)

    async def handle(self) -> None:
        self.writer.start()
        try:
            await super().handle()
        finally:
            await self.writer.aclose()

    async def send_message(self, message: Message) -> None:
        if self.writer.closed:
            raise WebSocketDisconnected
        await self.writer.send(self.writer.encode(message))

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's own ``run_operation`` (0.341), with the operation's context instead of the connection's."""
        slot = OperationSlot(operation.id, operation.query, operation.variables, operation.operation_name, self.writer)
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=operation_context(self.context, slot),
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws speaks in text frames; Strawberry sends ``encode_json``'s bytes (orjson) as binary ones,
    which clients refuse. Decode them: HTTP keeps the bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        try:
            await self.ws.send_text(encoded.decode() if isinstance(encoded, bytes) else encoded)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLOverWebSocket(GraphQL[Context, None]):
    """The WebSocket half of the gateway's Strawberry view: text frames, the live handler, and the key check."""

    websocket_adapter_class = TextFrames
    # One ordered writer per connection, and live ``events`` subscriptions executed once for all who share them.
    graphql_transport_ws_handler_class = LiveTransportWSHandler
    keyring: KeyRing

    async def on_ws_connect(self, context: Context) -> Any:
        """Check the key of a WebSocket: ``connection_init``'s ``{"authorization": "Bearer <key>"}``, else the header.

        An unknown or missing key closes the socket with 4403 (graphql-transport-ws's Forbidden) before any operation.
        """
        if self.keyring.open:
            return UNSET
        params = context.connection_params or {}
        raw = params.get("authorization", params.get("Authorization"))
        if raw is None:
            raw = context.request.headers.get("authorization")
        try:
            context.principal = self.keyring.principal_for(raw if isinstance(raw, str) else None)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        return UNSET


__all__ = [
    "ConnectionWriter",
    "GraphQLOverWebSocket",
    "LiveTransportWSHandler",
    "OperationSlot",
    "TextFrames",
    "operation_context",
]
