"""``create_app(settings)``: the gateway's HTTP and WebSocket surface, an ASGI app over a runtime.

Routes: ``/graphql`` (POST, GET for queries, WebSocket ``graphql-transport-ws``), ``/hooks/{source}``, ``/healthz``,
``/readyz``, ``/metrics``. The lifespan opens the runtime (gateway/runtime.py: the store, one adapter and pooled
HTTP client per source, the caches, the metrics) and closes it; nothing is opened at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final, cast

import httpx
import orjson
from cross_web import HTTPException  # what Strawberry 0.341 raises for a refused request (its own dependency)
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.typevars import Context as _Ctx  # noqa: F401 - documents the type parameter below
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gateway import graphql_sse, ide, media, uploads
from gateway.auth import KeyRing
from gateway.config import Settings
from gateway.context import ANONYMOUS, NOBODY, Context
from gateway.errors import HookgateError, Unauthenticated
from gateway.events.receiver import receive_delivery
from gateway.graphql_ws.protocol import GraphQLOverWebSocket
from gateway.observability.access import RequestObserver
from gateway.observability.logs import ensure_logging
from gateway.observability.redaction import install_redaction, secret_values
from gateway.observability.tracing import setup_tracing
from gateway.runtime import Runtime, open_runtime
from schema.schema import build_schema

log = logging.getLogger("hookgate")

REQUEST_ID_HEADER = "x-request-id"
#: How long /readyz waits for the store's ping before answering 503 (the stores bound their own pings at 2 s too).
READY_TIMEOUT_S = 2.5


#: Strawberry's refusals, said the way this gateway says them.
_HTTP_REASONS: Final = {
    "Batching is not enabled": "batched requests (a JSON array) are not accepted: send one operation per request",
}


def _json_error(status: int, message: str, code: str, **extensions: Any) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}, status)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a string" if isinstance(value, str) else "a number"


class HookgateGraphQL(GraphQLOverWebSocket):
    """Strawberry's ASGI app with our context and orjson; its WebSocket half (graphql-transport-ws, the key check in
    ``connection_init``) is gateway/graphql_ws/protocol.py's."""

    def __init__(self, settings: Settings, keyring: KeyRing, runtime: Callable[[], Runtime], **kwargs: Any) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=True,
            keep_alive=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # A browser page on another origin may open the WebSocket only if [cors] lists it (same list as HTTP).
            allowed_origins=settings.cors.allow_origins,
            # File uploads (the GraphQL multipart request spec): read by parse_multipart, see gateway/uploads.py.
            multipart_uploads_enabled=True,
            **kwargs,
        )
        #: The runtime the app's lifespan opened (read per request: the view is built before it starts).
        self.runtime = runtime
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but a request it refuses (bad JSON, a batch, a mutation over GET) gets a coded error."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        if (
            request.method == "POST"
            and uploads.is_multipart(request.headers.get("content-type"))
            and not uploads.has_preflight_header(request.headers)
        ):
            # CSRF: any page may send a multipart POST without a preflight; such a request must prove it is no page.
            message, extensions = uploads.csrf_refusal()
            await _json_error(400, message, "BAD_USER_INPUT", **extensions)(scope, receive, send)
            return
        if graphql_sse.wants_event_stream(request.headers.get("accept")):
            # GraphQL over Server-Sent Events (graphql-sse), at /graphql/stream or for a client that asks for it.
            await (await graphql_sse.serve_event_stream(self, request))(scope, receive, send)
            return
        try:
            response = await self.run(request)
        except HTTPException as exc:
            status, message = exc.status_code, _HTTP_REASONS.get(exc.reason, exc.reason)
            if exc.reason == "Unsupported content type":
                status = 415
            response = _json_error(
                status,
                message,
                "NOT_FOUND" if status == 404 else "BAD_USER_INPUT",
                **getattr(exc, "extensions", {}),
            )
            if exc.reason.endswith("not allowed when using GET"):
                # GraphQL over HTTP: a mutation sent with GET MUST be answered 405.
                response.status_code = 405
                response.headers["allow"] = "POST"
            accept = Headers(scope=scope).get("accept")
            if media.preferred_media_type(accept) == media.GRAPHQL_RESPONSE_JSON:
                response.headers["content-type"] = media.GRAPHQL_RESPONSE_JSON
            response.headers["vary"] = "Accept"
        except ClientDisconnect:
            # The client went away mid-body, or stalled past the body timeout (gateway/server.py answered it 408).
            response = _json_error(408, "the request body was not received", "BAD_USER_INPUT")
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None) -> Context:
        state = request.scope.get("state", {})
        principal = state.get("principal")
        if principal is None and isinstance(request, WebSocket):
            # Browsers cannot set headers on a WebSocket: the key arrives in connection_init (on_ws_connect).
            principal = ANONYMOUS if self.keyring.open else NOBODY
        elif principal is None:
            principal = self.keyring.principal_from_headers(request.headers)
        return Context(
            runtime=self.runtime(),
            principal=principal,
            request=request,
            response=response,
            request_id=state.get("request_id") or uuid.uuid4().hex,
            # On a WebSocket the upgrade's header would cover every mutation of the connection: ignore it there.
            idempotency_key=None if isinstance(request, WebSocket) else request.headers.get("idempotency-key"),
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson's JSONDecodeError is json's, which Strawberry turns into its 400 for a body that is not JSON.
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """JSON, and for a request body (bytes; GET's ``variables`` arrive as text) an object: a list is a batch,
        refused with its own message; ``"x"``, ``0``, ``true`` or ``null`` are a 400, not a crash."""
        parsed = super().parse_json(data)
        if isinstance(data, bytes) and not isinstance(parsed, dict | list):
            raise HTTPException(
                400, f'the request body must be a JSON object such as {{"query": ...}}, not {_json_kind(parsed)}'
            )
        return parsed

    async def parse_multipart(self, request: Any) -> dict[str, Any]:
        """A multipart request (file uploads) as its operation, files read in place: gateway/uploads.py. What does
        not follow the spec is a coded 400 naming the part at fault, never a 500."""
        try:
            form = await request.get_form_data()
        except Exception as exc:
            refusal = uploads.form_failure(exc)
            if refusal is None:
                raise  # the body cap's 413, a client gone away: answered where they always are
            raise refusal from None
        return await uploads.read_operations(form.form, self.parse_json)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Strawberry's, carrying the media type the client asked for (see gateway/media.py) to create_response."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = media.preferred_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """Answer in the negotiated media type; with ``application/graphql-response+json``, request errors are 4xx."""
        status = 200
        negotiated = sub_response.media_type == media.GRAPHQL_RESPONSE_JSON
        if negotiated and isinstance(response_data, dict) and media.is_request_error(response_data):
            status = media.request_error_status(response_data)
            response_data = cast(GraphQLHTTPResponse, {k: v for k, v in response_data.items() if k != "data"})
        response = super().create_response(response_data, sub_response)
        if negotiated:
            response.headers["content-type"] = media.GRAPHQL_RESPONSE_JSON
            response.status_code = sub_response.status_code or status
        response.headers["vary"] = "Accept"
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the gateway's own assets (gateway/ide), so it works with no internet access.

        Strawberry calls this only while ``graphql_ide`` is set, which production settings turn off.
        """
        return ide.render_page(graphql_path=request.url.path, key_required=not self.keyring.open)


class RequestGate:
    """Outermost middleware: request id, body size limit (413), and API-key authentication (401) for HTTP."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keyring: KeyRing,
        max_body_bytes: int,
        ide_page: bool = False,
        on_hook_too_large: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.max_body_bytes = max_body_bytes
        self.ide_page = ide_page
        #: Counts a delivery refused here, by its declared length, before the receiver sees it.
        self.on_hook_too_large = on_hook_too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        state["request_id"] = request_id[:64]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), state["request_id"].encode())]
            await send(message)

        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if self.ide_page and ide.is_page_request(scope, headers):
            state["principal"] = NOBODY  # GraphiQL's page holds no data, and a browser's navigation cannot send a key
        elif path.startswith("/graphql"):
            try:
                state["principal"] = self.keyring.principal_for(headers.get("authorization"))
            except Unauthenticated as exc:
                response = _json_error(401, exc.message, exc.code)
                response.headers["www-authenticate"] = "Bearer"
                await response(scope, receive, send_with_id)
                return
        if path.startswith(("/graphql", "/hooks")):
            declared = headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                if path.startswith("/hooks/") and self.on_hook_too_large is not None:
                    self.on_hook_too_large(path.removeprefix("/hooks/"))
                await self._too_large(scope, receive, send_with_id)
                return
            receive = self._limited(receive)
        try:
            await self.app(scope, receive, send_with_id)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send_with_id)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        return limited

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _too_large_response(self.max_body_bytes)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large_response(limit: int) -> JSONResponse:
    return _json_error(413, f"request body is larger than {limit} bytes", "BAD_USER_INPUT", limit=limit)


def _body_too_large(limit: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return _too_large_response(limit)

    return handler


def _may_see_source_health(keyring: KeyRing, request: Request) -> bool:
    """Per-source health is for the ``admin`` scope (it tells which backends fail); the rest of ``/readyz`` is for
    any probe, with or without a key, so a wrong key only hides the detail."""
    try:
        return "admin" in keyring.principal_from_headers(request.headers).scopes
    except Unauthenticated:
        return False


def create_app(
    settings: Settings,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    metrics_dir: str | None = None,
) -> ASGIApp:
    """The gateway for ``settings``. Its lifespan enters :func:`gateway.runtime.open_runtime` (``transports`` and
    ``metrics_dir`` are passed to it) and keeps the runtime in ``app.state.runtime`` (:func:`runtime_of`)."""
    # Before any client exists: httpx logs request URLs, and a WorkflowGen hook URL carries its token.
    install_redaction(secret_values(settings))
    ensure_logging()  # the defaults, unless the CLI (or a test) configured logging already
    keyring = KeyRing(settings)

    def current() -> Runtime:
        runtime: Runtime = app.state.runtime
        return runtime

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, transports=transports, keyring=keyring, metrics_dir=metrics_dir) as runtime:
            app.state.runtime = runtime
            if keyring.open:
                log.warning("no API keys configured: the gateway is open to anyone who can reach it")
            yield

    graphql = HookgateGraphQL(settings, keyring, current)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # Ready only when the store answers its ping, True, in time: False, an error or silence is 503.
        runtime = current()
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                store_ok = await runtime.store.ping() is True
        except Exception:
            store_ok = False
        body: dict[str, Any] = {"status": "ready" if store_ok else "unavailable", "store": store_ok}
        if _may_see_source_health(keyring, request):
            body["sources"] = {name: adapter.circuit.value for name, adapter in runtime.adapters.items()}
        return JSONResponse(body, status_code=200 if store_ok else 503)

    async def metrics(request: Request) -> Response:
        return Response(current().metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def hooks(request: Request) -> Response:
        # The receiver counts what it answers (hookgate_inbound_deliveries_total); what it raises is counted here.
        source = str(request.path_params.get("source", ""))
        try:
            response: Response = await receive_delivery(current(), request)
            return response
        except HookgateError as exc:
            current().metrics.record_delivery(source, "malformed")
            return _json_error(400, exc.message, exc.code)
        except ClientDisconnect:  # gone mid-body, or stalled past the body timeout (answered 408 by the server)
            current().metrics.record_delivery(source, "incomplete")
            return _json_error(408, "the delivery's body was not received", "BAD_USER_INPUT")
        except _BodyTooLarge:
            current().metrics.record_delivery(source, "too_large")
            raise

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/graphql/stream", _event_stream(graphql), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/hooks/{source}", hooks, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *([] if settings.production else [Mount(ide.STATIC_PREFIX, ide.static_files())]),
        ],
        lifespan=lifespan,
        # A chunked body passes the limit inside a route: answer 413 there, before Starlette's error middleware
        # turns the exception into a 500 (RequestGate's own catch would then find the response already started).
        exception_handlers={_BodyTooLarge: _body_too_large(settings.limits.max_body_bytes)},
    )
    gate = RequestGate(
        setup_tracing(RequestObserver(app)),
        keyring=keyring,
        max_body_bytes=settings.limits.max_body_bytes,
        ide_page=not settings.production,
        on_hook_too_large=lambda source: current().metrics.record_delivery(source, "too_large"),
    )
    return _with_cors(gate, settings) if settings.cors.allow_origins else gate


def _with_cors(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Starlette's CORS middleware, outermost: it answers a preflight itself (a browser sends no key with one), and
    adds the CORS headers to every answer for a listed origin, a 401 included (so the page can read why)."""
    cors = settings.cors
    return CORSMiddleware(
        app,
        allow_origins=list(cors.allow_origins),
        allow_methods=["GET", "POST"],
        allow_headers=[
            "authorization",
            "content-type",
            "accept",
            "idempotency-key",
            REQUEST_ID_HEADER,
            *uploads.PREFLIGHT_HEADERS,
        ],
        allow_credentials=cors.allow_credentials,
        expose_headers=[REQUEST_ID_HEADER],
        max_age=cors.max_age_s,
    )


def _event_stream(view: HookgateGraphQL) -> Callable[[Request], Awaitable[Response]]:
    """``/graphql/stream``: GraphQL over Server-Sent Events (gateway/graphql_sse.py), whatever ``Accept`` says."""

    async def endpoint(request: Request) -> Response:
        return await graphql_sse.serve_event_stream(view, request)

    return endpoint


def runtime_of(app: Any) -> Runtime:
    """The runtime a started app's lifespan opened, through whatever middleware wraps the Starlette app."""
    layer = app
    while not isinstance(getattr(getattr(layer, "state", None), "runtime", None), Runtime):
        layer = layer.app
    runtime: Runtime = layer.state.runtime
    return runtime


def tune_gc_for_serving() -> None:
    """Make the cyclic garbage collector cheap for a long-running server (``hookgate serve`` only).

    A large answer allocates tens of thousands of short-lived objects, which refcounting frees; with the default
    thresholds the collector still runs a young collection every 700 allocations and, every so often, walks every
    object of the process (the schema, the modules). Measured in process on the dashboard request: about 17% of its
    CPU. Everything built at start-up is moved out of the collector's sight (``gc.freeze``) and young collections run
    every 50,000 allocations instead: 3% to 5% of that remains.

    That threshold alone made the latency tail: each request leaves a few hundred objects in reference cycles, so
    every 200 requests or so one collection freed 50,000 objects and paused the loop for 40 to 180 ms in the middle
    of a request. The server (gateway/server.py, ``collect_young``) therefore collects the young generation when an
    answer leaves it idle, once 1,000 objects have accumulated: about a millisecond between answers. 50,000 stays as
    the automatic threshold, for a busy server (collecting after every answer under load cost 12 to 22% more CPU per
    request) and for a single request that allocates that much before its answer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
