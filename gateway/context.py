"""The typed per-request context every resolver receives as ``info.context``.

It carries who is asking (``principal``), the request's own loaders (built here, per request, inside the running
loop) and what they read (``reads``, for the response cache), the long-lived runtime, and the *partial errors*:
failures of one source that null or shorten only that source's part of the answer. The error extension adds those to
the response's ``errors`` with their ``path``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import strawberry
from graphql import GraphQLError

from gateway.cache import Reads
from gateway.errors import HookgateError, InternalError
from gateway.loaders import Loaders

if TYPE_CHECKING:
    from gateway.graphql_ws.hub import LiveGroup
    from gateway.graphql_ws.protocol import OperationSlot
    from gateway.runtime import Runtime

log = logging.getLogger("hookgate.request")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: an API key's name and scopes (``read``, ``write``, ``admin``)."""

    name: str
    scopes: frozenset[str]

    def can(self, scope: str) -> bool:
        return scope in self.scopes


#: With no API keys configured the gateway is open (and listens on loopback only).
ANONYMOUS = Principal(name="anonymous", scopes=frozenset({"read", "write", "admin"}))

#: A WebSocket before its ``connection_init`` has named a key: no scope at all.
NOBODY = Principal(name="unauthenticated", scopes=frozenset())


@dataclass
class Context:
    #: Everything long-lived (gateway/runtime.py): settings, adapters, store, broker, caches, metrics, live hub.
    runtime: Runtime
    principal: Principal = ANONYMOUS
    request: Any = None  # the Starlette Request or WebSocket
    response: Any = None  # the Starlette Response headers may be added to
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    idempotency_key: str | None = None
    #: The payload of a WebSocket's ``connection_init`` (Strawberry sets it only if the context has the attribute).
    connection_params: dict[str, Any] | None = None
    #: The graphql-transport-ws operation this context runs (each has its own context: gateway/graphql_ws/protocol.py).
    ws_operation: OperationSlot | None = None
    #: In a live group's own execution (gateway/graphql_ws/hub.py): the events the ``events`` resolver yields.
    live_feed: LiveGroup | None = None
    #: The sources this request read (noted by its loaders) and whether its answer may be kept (gateway/cache.py).
    reads: Reads = field(default_factory=Reads)
    loaders: Loaders = field(init=False)
    partial_errors: list[GraphQLError] = field(default_factory=list)
    _partial_seen: set[tuple[Any, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.runtime, self.reads)

    def add_partial(self, exc: Exception, path: list[str | int] | None) -> None:
        """Report ``exc`` for the part of the answer at ``path``; the rest of the answer stands.

        The same failure of one source is reported once per request (the first path), not once per item.
        """
        if not isinstance(exc, HookgateError):
            log.error("unexpected error in a resolver", exc_info=exc, extra={"request_id": self.request_id})
            exc = InternalError("internal error", requestId=self.request_id)  # the id finds the traceback
        field_name = next((p for p in reversed(path or []) if isinstance(p, str)), None)
        key = (exc.code, exc.source, field_name, exc.message)
        if key in self._partial_seen:
            return
        self._partial_seen.add(key)
        self.partial_errors.append(GraphQLError(exc.message, path=path, original_error=exc))


Info: TypeAlias = strawberry.Info[Context, None]


def path_of(info: Info, *extra: str | int) -> list[str | int]:
    return [*info.path.as_list(), *extra]
