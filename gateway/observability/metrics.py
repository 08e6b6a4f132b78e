"""What an operator watches: Prometheus metrics, structured logs with request ids, redaction, optional tracing.

Metrics live in prometheus-client's default registry and are served at ``/metrics``:

- ``hookgate_graphql_requests_total{operation_type, operation_name, outcome}``: outcome ``ok``, ``partial`` (data
  and errors: one failing source among several) or ``error``; the name only when the document gives one, else
  ``anonymous``;
- ``hookgate_graphql_request_duration_seconds{operation_type}``: queries and mutations (a subscription lasts as long
  as its client wants, so it is counted but not timed);
- ``hookgate_upstream_request_duration_seconds{source, provider, method}``: one logical upstream call, waiting for a
  slot and retries included; ``hookgate_upstream_errors_total{source, provider, code}`` by error code;
- ``hookgate_circuit_state{source, provider, state}``: 1 for each source's current breaker state, read at scrape time;
- ``hookgate_inbound_deliveries_total{source, verdict}``: :func:`record_delivery`, called by the receiver;
- ``hookgate_subscribers``: live subscriptions, :func:`subscriber_connected` / :func:`subscriber_disconnected`.

Label values are bounded and never carry a secret, a URL or an id: sources and providers come from configuration,
codes from the error tree, operation names are checked, truncated and capped in number.

Logs: :func:`configure_logging` sends structlog's and the standard library's records (uvicorn, httpx, stamina...)
through one handler that renders JSON lines (or readable lines for a terminal). :class:`RequestObserver` binds the
request id (the one ``X-Request-Id`` returns) to every line logged while a request is served and writes one access
line per request. Every line goes through :func:`redact` (gateway/redaction.py, re-exported here), the one place
that knows what a secret looks like.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal, TextIO

import orjson
import structlog
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.redaction import MASK
from gateway.redaction import redact as redact

# -- redaction ----------------------------------------------------------------------------------------------------

# One implementation of redaction for the whole gateway (gateway/redaction.py: configured secret values and
# credential-shaped text); re-exported here (``observability.redact``) for log processors and traced URLs.


#: A key under which a string is a secret whatever it looks like: ``headers={"Authorization": "..."}``, ``token=...``.
_SECRET_KEY = re.compile(r"(?i)authorization|cookie|token|secret|password|passwd|api[_-]?key|private[_-]?key")


def _redact_value(key: object, value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return MASK if isinstance(key, str) and _SECRET_KEY.search(key) else redact(value)
    if depth < 4 and isinstance(value, dict):
        return {k: _redact_value(k, v, depth + 1) for k, v in value.items()}
    if depth < 4 and isinstance(value, list | tuple):
        return [_redact_value(key, v, depth + 1) for v in value]
    return value


def redact_processor(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: :func:`redact` over every string of the line, and a mask over every string kept under a
    secret-sounding key. Runs twice: on structlog's own lines before they become records, and on every record after
    its traceback is formatted (a traceback is text made after the record, which the record factory never saw).
    """
    for key, value in event_dict.items():
        if key != "event" or not isinstance(value, str):
            event_dict[key] = _redact_value(key, value)
        else:
            event_dict[key] = redact(value)
    return event_dict


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """gateway/redaction.py's record factory rewrites a record's message into text when it finds a secret in it. For
    a structlog line that message was the event dict (already cleaned by :func:`redact_processor`, so this is rare):
    format such a record as a plain one instead of failing on a dict that is now a string."""

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(record, "_logger") and not isinstance(record.msg, dict):
            record = logging.makeLogRecord({k: v for k, v in record.__dict__.items() if k not in ("_logger", "_name")})
        return super().format(record)


# -- metrics ------------------------------------------------------------------------------------------------------

# No ``*_created`` series: one more series per label set that dashboards do not use.
disable_created_metrics()  # type: ignore[no-untyped-call]

GRAPHQL_REQUESTS = Counter(
    "hookgate_graphql_requests",
    "GraphQL operations by type, name and outcome (ok, partial, error).",
    ["operation_type", "operation_name", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "hookgate_graphql_request_duration_seconds",
    "Time to answer a GraphQL query or mutation: parsing, validation and execution.",
    ["operation_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GRAPHQL_ERRORS = Counter(
    "hookgate_graphql_errors",
    "Errors in GraphQL responses, by extensions.code and the source they name ('' when none).",
    ["code", "source"],
)
UPSTREAM_DURATION = Histogram(
    "hookgate_upstream_request_duration_seconds",
    "One logical call to a source's API, waiting for a slot and retries included.",
    ["source", "provider", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
UPSTREAM_ERRORS = Counter(
    "hookgate_upstream_errors",
    "Upstream calls that failed, by source and error code (CIRCUIT_OPEN: refused without a call).",
    ["source", "provider", "code"],
)
INBOUND_DELIVERIES = Counter(
    "hookgate_inbound_deliveries",
    "Deliveries received at /hooks/{source}, by source and verdict.",
    ["source", "verdict"],
)
# Gauges say how to combine worker processes (``--workers N``); an Info metric would not be collected from them.
SUBSCRIBERS = Gauge("hookgate_subscribers", "Live GraphQL subscriptions.", multiprocess_mode="livesum")
BUILD = Gauge("hookgate_build_info", "The running Hookgate's version.", ["version"], multiprocess_mode="max")
with contextlib.suppress(PackageNotFoundError):
    BUILD.labels(version=version("hookgate")).set(1)

MAX_OPERATION_NAMES = 200
MAX_LABEL_LENGTH = 64
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABEL_SAFE = re.compile(r"[^a-z0-9_]+")
_operation_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """The ``operation_name`` label: truncated; past :data:`MAX_OPERATION_NAMES` distinct names, ``other``.

    Names come from parsed documents only, so they are GraphQL names; the cap keeps a client that invents a new
    name per request from growing the metric without bound.
    """
    if not name:
        return "anonymous"
    name = name[:MAX_LABEL_LENGTH]
    if name not in _operation_names:
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return "other"
        _operation_names.add(name)
    return name


def record_operation(operation_type: str, operation_name: str | None, outcome: str, seconds: float | None) -> None:
    """Count one GraphQL operation (and time it, unless ``seconds`` is None). For execution paths that bypass
    Strawberry's extensions; the schema's :class:`GraphQLMetrics` calls it for the others."""
    GRAPHQL_REQUESTS.labels(operation_type, operation_label(operation_name), outcome).inc()
    if seconds is not None:
        GRAPHQL_DURATION.labels(operation_type).observe(seconds)


_CODE = re.compile(r"[A-Z_]{1,32}")


def record_errors(result: Any, partial_errors: list[Any] | None) -> None:
    """Count a response's errors by code and source. Adapters may turn an upstream answer into an error after the
    HTTP call succeeded (WorkflowGen answers errors with 200), so this sees failures the upstream metrics cannot."""
    errors = [*(getattr(result, "errors", None) or []), *(partial_errors or [])]
    seen: set[int] = set()
    for error in errors:
        if id(error) in seen:  # ErrorShaping may already have merged the partial errors into the result
            continue
        seen.add(id(error))
        extensions = getattr(error, "extensions", None) or {}
        code = str(extensions.get("code") or "INTERNAL")
        source = extensions.get("source")
        GRAPHQL_ERRORS.labels(
            code if _CODE.fullmatch(code) else "OTHER", _source_label(source) if isinstance(source, str) else ""
        ).inc()


def observe_upstream(source: str, provider: str, method: str, code: str, seconds: float) -> None:
    """The upstream observer (``gateway.providers.http.upstream_observer``): never raises into a request."""
    try:
        method = method.upper() if method.upper() in _HTTP_METHODS else "OTHER"
        if code != "CIRCUIT_OPEN":  # no call was made: its zero latency would flatter the histogram
            UPSTREAM_DURATION.labels(source, provider, method).observe(seconds)
        if code != "ok":
            UPSTREAM_ERRORS.labels(source, provider, code).inc()
    except Exception:  # pragma: no cover - metrics must not fail a call
        logging.getLogger("hookgate.metrics").exception("cannot record an upstream call")


def record_delivery(source: str, verdict: str) -> None:
    """Count one inbound delivery at ``/hooks/{source}``. Call it once per delivery, whatever the answer.

    ``verdict`` is a short word of the receiver's choosing, e.g. ``accepted``, ``duplicate``, ``bad_signature``,
    ``too_large``, ``rejected``, ``error``; it is lower-cased, reduced to ``[a-z0-9_]`` and truncated. A source
    name that no running app has configured is counted as ``unknown`` (anyone may POST to any path).
    """
    label = _LABEL_SAFE.sub("_", verdict.lower())[:32] or "unknown"
    INBOUND_DELIVERIES.labels(_source_label(source), label).inc()


def subscriber_connected() -> None:
    """A GraphQL subscription started; pair with :func:`subscriber_disconnected` in a ``finally``."""
    SUBSCRIBERS.inc()


def subscriber_disconnected() -> None:
    SUBSCRIBERS.dec()


# The apps whose sources the circuit collector reports and whose source names bound the delivery label. Weak, so a
# stopped app (tests start many) is forgotten without an explicit unregister.
_services: list[weakref.ref[Any]] = []


def _live_services() -> list[Any]:
    alive = [s for s in (ref() for ref in _services) if s is not None]
    _services[:] = [weakref.ref(s) for s in alive]
    return alive


def watch_services(services: Any) -> None:
    """Report ``services``' adapters' circuits at ``/metrics`` and accept its source names as labels."""
    if all(existing is not services for existing in _live_services()):
        _services.append(weakref.ref(services))


def _source_label(source: str) -> str:
    apps = _live_services()
    if not apps:
        return source[:MAX_LABEL_LENGTH]
    known = any(source in app.settings.sources for app in apps)
    return source if known else "unknown"


class CircuitCollector:
    """``hookgate_circuit_state``, read from the breakers when scraped; the newest app wins a shared source name."""

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "hookgate_circuit_state",
            "Each source's circuit breaker: 1 for its current state (CLOSED, OPEN, HALF_OPEN), 0 for the others.",
            labels=["source", "provider", "state"],
        )
        current: dict[str, tuple[str, str]] = {}
        for services in _live_services():
            for name, adapter in list(services.adapters.items()):
                current[name] = (adapter.kind, adapter.http.breaker.state.value)
        for name, (provider, state) in sorted(current.items()):
            for candidate in ("CLOSED", "OPEN", "HALF_OPEN"):
                family.add_metric([name, provider, candidate], 1.0 if candidate == state else 0.0)
        yield family

    def describe(self) -> Iterable[Metric]:
        return []


REGISTRY.register(CircuitCollector())

#: Set by ``hookgate serve --workers N`` (N > 1) before the workers start: each writes its samples to files there.
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def render_metrics() -> bytes:
    """The Prometheus text for ``/metrics``: this process's registry, or with several workers, the sum of all of
    them (counters and histograms added, live subscriptions summed over live workers) plus this worker's circuits."""
    if not os.environ.get(MULTIPROCESS_DIR_ENV):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(CircuitCollector())
    return generate_latest(registry)


def worker_stopped() -> None:
    """A worker's live gauges stop counting when it stops (its counters stay in the totals)."""
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class GraphQLMetrics(SchemaExtension):
    """Counts and times every operation; leaves its type, name and outcome in the request's scope for the access
    line. Only an ``on_operation`` hook: nothing runs per field.

    List it before ``ErrorShaping``: extensions exit in reverse order, so it then sees the final, coded errors.
    """

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        operation_type = _operation_type(context)
        outcome = _outcome(context.result, getattr(context.context, "partial_errors", None))
        name = _operation_name(context)
        elapsed = time.perf_counter() - started
        record_operation(operation_type, name, outcome, None if operation_type == "subscription" else elapsed)
        if outcome != "ok":
            record_errors(context.result, getattr(context.context, "partial_errors", None))
        scope = getattr(getattr(context.context, "request", None), "scope", None)
        if isinstance(scope, dict) and isinstance(scope.get("state"), dict):
            scope["state"]["graphql"] = {
                "operation_type": operation_type,
                "operation_name": operation_label(name),
                "outcome": outcome,
            }


def _operation_type(context: Any) -> str:
    try:
        operation: OperationType = context.operation_type
    except Exception:  # no document: a syntax error, or no query at all
        return "unknown"
    return str(operation.value)


def _operation_name(context: Any) -> str | None:
    """The executed operation's name as the document spells it; a requested name the document lacks is dropped."""
    document = context.graphql_document
    if document is None:
        return None
    names = {d.name.value for d in document.definitions if getattr(d, "operation", None) and d.name is not None}
    name: str | None = context.operation_name
    return name if name in names else None


def _outcome(result: Any, partial_errors: list[Any] | None) -> str:
    errors = (getattr(result, "errors", None) or []) or (partial_errors or [])
    if not errors:
        return "ok"
    data = getattr(result, "data", None)
    if isinstance(data, dict) and any(value is not None for value in data.values()):
        return "partial"
    return "error"


# -- logs ---------------------------------------------------------------------------------------------------------

LogFormat = Literal["json", "console", "auto"]
_configured = False
_QUIET_BELOW_DEBUG = frozenset({"httpx", "httpcore", "aiosqlite"})
# uvicorn's coloured copy of its message; what another handler's Formatter left on a shared record.
_NOISY_EXTRAS = ("color_message", "message", "asctime")


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
    global _configured
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
    handler.set_name("hookgate")

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "hookgate"]:
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    root.setLevel(numeric)
    # uvicorn installs handlers of its own unless told log_config=None; send its records to ours instead. Its access
    # log is silenced: RequestObserver writes one access line per request, with the request id and the operation.
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
    _configured = True


def configure_logging_from_env() -> None:
    """``HOOKGATE_LOG_FORMAT`` (``json``, ``console``, ``auto``: JSON unless stderr is a terminal) and
    ``HOOKGATE_LOG_LEVEL`` (default ``INFO``). ``hookgate serve`` sets both from its options, for its workers too."""
    fmt = os.environ.get("HOOKGATE_LOG_FORMAT", "auto").lower()
    json = fmt == "json" or (fmt != "console" and not sys.stderr.isatty())
    configure_logging(json=json, level=os.environ.get("HOOKGATE_LOG_LEVEL", "INFO"))


def ensure_logging() -> None:
    """Configure from the environment unless :func:`configure_logging` already ran in this process."""
    if not _configured:
        configure_logging_from_env()


# -- requests -----------------------------------------------------------------------------------------------------

access_log = structlog.stdlib.get_logger("hookgate.access")
#: The standard library logger behind ``access_log``: its level decides, as ``filter_by_level`` does, whether a line
#: is written at all, and asking it first spares a dropped line its fields, its redaction and structlog's processing.
_access_level = logging.getLogger("hookgate.access")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObserver:
    """ASGI middleware inside ``RequestGate``: binds its request id to every log line of the request, then writes
    one access line (method, path without the query string, status, duration, and the GraphQL operation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                if _access_level.isEnabledFor(level):
                    fields: dict[str, Any] = {
                        "method": scope.get("method", "WEBSOCKET"),
                        "path": redact(path),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                    if error is not None:
                        fields["error"] = error
                    fields.update(state.get("graphql") or {})
                    access_log.log(level, "websocket closed" if scope["type"] == "websocket" else "request", **fields)


# -- tracing ------------------------------------------------------------------------------------------------------


def setup_tracing(app: ASGIApp) -> ASGIApp:
    """OpenTelemetry spans for inbound requests and upstream calls when its packages are importable; else ``app``.

    Needs ``opentelemetry-instrumentation-asgi``; with ``opentelemetry-instrumentation-aiohttp-client`` upstream
    calls get spans too (httpx-aiohttp sends through aiohttp), their URLs redacted. With ``opentelemetry-sdk``,
    ``opentelemetry-exporter-otlp`` and ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, spans are exported over OTLP.
    """
    try:
        asgi = importlib.import_module("opentelemetry.instrumentation.asgi")
    except ImportError:
        return app
    _export_spans()
    with contextlib.suppress(ImportError):
        aiohttp_client = importlib.import_module("opentelemetry.instrumentation.aiohttp_client")
        instrumentor = aiohttp_client.AioHttpClientInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            redact_url: Callable[[Any], str] = lambda url: redact(str(url))  # noqa: E731
            instrumentor.instrument(url_filter=redact_url)
    wrapped: ASGIApp = asgi.OpenTelemetryMiddleware(app, excluded_urls="healthz,readyz,metrics")
    return wrapped


def _export_spans() -> None:
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    try:
        trace = importlib.import_module("opentelemetry.trace")
        sdk_trace = importlib.import_module("opentelemetry.sdk.trace")
        export = importlib.import_module("opentelemetry.sdk.trace.export")
        resources = importlib.import_module("opentelemetry.sdk.resources")
        otlp = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    except ImportError:
        return
    if isinstance(trace.get_tracer_provider(), sdk_trace.TracerProvider):
        return  # configured already (opentelemetry-instrument, or an earlier app in this process)
    service = os.environ.get("OTEL_SERVICE_NAME", "hookgate")
    provider = sdk_trace.TracerProvider(resource=resources.Resource.create({"service.name": service}))
    provider.add_span_processor(export.BatchSpanProcessor(otlp.OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


# -- wiring -------------------------------------------------------------------------------------------------------


def instrument(app: ASGIApp, services: Any) -> ASGIApp:
    """Everything above for one app: logging (unless configured), the upstream observer, the circuit collector's
    view of ``services``, request ids and access lines, and tracing when available. ``create_app`` calls it."""
    from gateway.providers import http

    ensure_logging()
    http.upstream_observer = observe_upstream
    watch_services(services)
    return setup_tracing(RequestObserver(app))
