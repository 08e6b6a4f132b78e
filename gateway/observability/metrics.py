"""Prometheus metrics, one :class:`Metrics` per runtime (its own ``CollectorRegistry``), served at ``/metrics``:

- ``hookgate_graphql_requests_total{operation_type, operation_name, outcome}``: outcome ``ok``, ``partial`` (data
  and errors: one failing source among several) or ``error``; the name only when the document gives one, else
  ``anonymous``;
- ``hookgate_graphql_request_duration_seconds{operation_type}``: queries and mutations (a subscription lasts as long
  as its client wants, so it is counted but not timed);
- ``hookgate_graphql_errors_total{code, source}``: errors in responses by ``extensions.code``;
- ``hookgate_upstream_request_duration_seconds{source, provider, method}``: one logical upstream call, waiting for a
  slot and retries included; ``hookgate_upstream_errors_total{source, provider, code}`` by error code. The
  :class:`Metrics` object is the upstream observer every ``UpstreamClient`` of its runtime is given;
- ``hookgate_circuit_state{source, provider, state}``: 1 for each source's current breaker state, read at scrape time;
- ``hookgate_inbound_deliveries_total{source, verdict}``: :meth:`Metrics.record_delivery`, called by the receiver;
- ``hookgate_subscribers``: live subscriptions, :meth:`Metrics.subscriber_connected` / ``subscriber_disconnected``;
- ``hookgate_build_info{version}``.

Label values are bounded and never carry a secret, a URL or an id: sources and providers come from configuration,
codes from the error tree, operation names are checked, truncated and capped in number.

With ``hookgate serve --workers N`` each worker's runtime is given the directory the CLI made
(``multiprocess_dir``): prometheus-client writes every worker's samples there, and ``/metrics`` adds them up
whichever worker takes the scrape.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

MAX_OPERATION_NAMES = 200
MAX_LABEL_LENGTH = 64
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABEL_SAFE = re.compile(r"[^a-z0-9_]+")
_CODE = re.compile(r"[A-Z_]{1,32}")
#: The line each failed operation writes (GraphQLMetrics): its error codes, sources and request id.
_failures = structlog.stdlib.get_logger("hookgate.request")
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: (source, provider, breaker state) for each source of a runtime, read when ``/metrics`` is scraped.
Circuits = Callable[[], Iterable[tuple[str, str, str]]]


class _CircuitCollector:
    """``hookgate_circuit_state``, read from the runtime's breakers when scraped."""

    def __init__(self, circuits: Circuits) -> None:
        self._circuits = circuits

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "hookgate_circuit_state",
            "Each source's circuit breaker: 1 for its current state (CLOSED, OPEN, HALF_OPEN), 0 for the others.",
            labels=["source", "provider", "state"],
        )
        for name, provider, state in sorted(self._circuits()):
            for candidate in ("CLOSED", "OPEN", "HALF_OPEN"):
                family.add_metric([name, provider, candidate], 1.0 if candidate == state else 0.0)
        yield family

    def describe(self) -> Iterable[Metric]:
        return []


class Metrics:
    """One runtime's metrics: a registry of its own, so that two runtimes in one process count apart.

    ``sources``: the configured source names (others are labelled ``unknown``: anyone may POST to any path);
    ``circuits``: how to read each source's breaker at scrape time; ``multiprocess_dir``: set by ``hookgate serve
    --workers N`` (see the module docstring).
    """

    def __init__(
        self,
        *,
        sources: Collection[str] = (),
        circuits: Circuits = tuple,
        multiprocess_dir: str | None = None,
        max_operation_names: int = MAX_OPERATION_NAMES,
    ) -> None:
        # No ``*_created`` series: one more series per label set that dashboards do not use. (A switch of the
        # library's, for the whole process; the same value every time.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir
        self._sources = frozenset(sources)
        self._circuits = _CircuitCollector(circuits)
        self._max_operation_names = max_operation_names
        self._operation_names: set[str] = set()
        registry = self.registry
        self.graphql_requests = Counter(
            "hookgate_graphql_requests",
            "GraphQL operations by type, name and outcome (ok, partial, error).",
            ["operation_type", "operation_name", "outcome"],
            registry=registry,
        )
        self.graphql_duration = Histogram(
            "hookgate_graphql_request_duration_seconds",
            "Time to answer a GraphQL query or mutation: parsing, validation and execution.",
            ["operation_type"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.graphql_errors = Counter(
            "hookgate_graphql_errors",
            "Errors in GraphQL responses, by extensions.code and the source they name ('' when none).",
            ["code", "source"],
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "hookgate_upstream_request_duration_seconds",
            "One logical call to a source's API, waiting for a slot and retries included.",
            ["source", "provider", "method"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.upstream_errors = Counter(
            "hookgate_upstream_errors",
            "Upstream calls that failed, by source and error code (CIRCUIT_OPEN: refused without a call).",
            ["source", "provider", "code"],
            registry=registry,
        )
        self.inbound_deliveries = Counter(
            "hookgate_inbound_deliveries",
            "Deliveries received at /hooks/{source}, by source and verdict.",
            ["source", "verdict"],
            registry=registry,
        )
        # Gauges say how to combine worker processes (``--workers N``); an Info metric would not be collected there.
        self.subscribers = Gauge(
            "hookgate_subscribers", "Live GraphQL subscriptions.", multiprocess_mode="livesum", registry=registry
        )
        self.build = Gauge(
            "hookgate_build_info",
            "The running Hookgate's version.",
            ["version"],
            multiprocess_mode="max",
            registry=registry,
        )
        with contextlib.suppress(PackageNotFoundError):
            self.build.labels(version=version("hookgate")).set(1)
        registry.register(self._circuits)
        # What the default registry offers besides: the process's CPU, memory and file descriptors, Python's GC.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    # -- labels ---------------------------------------------------------------------------------------------------

    def operation_label(self, name: str | None) -> str:
        """The ``operation_name`` label: truncated; past ``max_operation_names`` distinct names, ``other``.

        Names come from parsed documents only, so they are GraphQL names; the cap keeps a client that invents a new
        name per request from growing the metric without bound.
        """
        if not name:
            return "anonymous"
        name = name[:MAX_LABEL_LENGTH]
        if name not in self._operation_names:
            if len(self._operation_names) >= self._max_operation_names:
                return "other"
            self._operation_names.add(name)
        return name

    def _source_label(self, source: str) -> str:
        return source if source in self._sources else "unknown"

    # -- recording ------------------------------------------------------------------------------------------------

    def record_operation(
        self, operation_type: str, operation_name: str | None, outcome: str, seconds: float | None
    ) -> None:
        """Count one GraphQL operation (and time it, unless ``seconds`` is None). For execution paths that bypass
        Strawberry's extensions; the schema's :class:`GraphQLMetrics` calls it for the others."""
        self.graphql_requests.labels(operation_type, self.operation_label(operation_name), outcome).inc()
        if seconds is not None:
            self.graphql_duration.labels(operation_type).observe(seconds)

    def record_errors(self, result: Any, partial_errors: list[Any] | None) -> None:
        """Count a response's errors by code and source. Adapters may turn an upstream answer into an error after
        the HTTP call succeeded (WorkflowGen answers errors with 200), so this sees failures the upstream metrics
        cannot."""
        errors = [*(getattr(result, "errors", None) or []), *(partial_errors or [])]
        seen: set[int] = set()
        for error in errors:
            if id(error) in seen:  # ErrorShaping may already have merged the partial errors into the result
                continue
            seen.add(id(error))
            extensions = getattr(error, "extensions", None) or {}
            code = str(extensions.get("code") or "INTERNAL")
            source = extensions.get("source")
            self.graphql_errors.labels(
                code if _CODE.fullmatch(code) else "OTHER",
                self._source_label(source) if isinstance(source, str) else "",
            ).inc()

    def upstream_call(self, source: str, provider: str, method: str, outcome: str, seconds: float) -> None:
        """The upstream observer (``gateway.providers.http.UpstreamObserver``): never raises into a request."""
        try:
            method = method.upper() if method.upper() in _HTTP_METHODS else "OTHER"
            if outcome != "CIRCUIT_OPEN":  # no call was made: its zero latency would flatter the histogram
                self.upstream_duration.labels(source, provider, method).observe(seconds)
            if outcome != "ok":
                self.upstream_errors.labels(source, provider, outcome).inc()
        except Exception:  # pragma: no cover - metrics must not fail a call
            logging.getLogger("hookgate.metrics").exception("cannot record an upstream call")

    def record_delivery(self, source: str, verdict: str) -> None:
        """Count one inbound delivery at ``/hooks/{source}``. Call it once per delivery, whatever the answer.

        ``verdict`` is a short word of the receiver's choosing, e.g. ``accepted``, ``duplicate``, ``bad_signature``,
        ``too_large``, ``rejected``, ``error``; it is lower-cased, reduced to ``[a-z0-9_]`` and truncated. A source
        name this runtime has not configured is counted as ``unknown``.
        """
        label = _LABEL_SAFE.sub("_", verdict.lower())[:32] or "unknown"
        self.inbound_deliveries.labels(self._source_label(source), label).inc()

    def subscriber_connected(self) -> None:
        """A GraphQL subscription started; pair with :meth:`subscriber_disconnected` in a ``finally``."""
        self.subscribers.inc()

    def subscriber_disconnected(self) -> None:
        self.subscribers.dec()

    # -- serving --------------------------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text for ``/metrics``: this runtime's registry, or with several workers, the sum of all
        of them (counters and histograms added, live subscriptions summed over live workers) plus this worker's
        circuits."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        registry.register(self._circuits)
        return generate_latest(registry)

    def sample(self, name: str, **labels: str) -> float:
        """One sample's value in this runtime's registry (0 when absent): for tests and tools."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def worker_stopped(self) -> None:
        """A worker's live gauges stop counting when it stops (its counters stay in the totals)."""
        if self.multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), path=self.multiprocess_dir)  # type: ignore[no-untyped-call]


class GraphQLMetrics(SchemaExtension):
    """Counts and times every operation in the runtime's :class:`Metrics` (the context's ``runtime.metrics``);
    leaves its type, name and outcome in the request's scope for the access line. Only an ``on_operation`` hook:
    nothing runs per field.

    List it before ``ErrorShaping``: extensions exit in reverse order, so it then sees the final, coded errors.
    """

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        metrics: Metrics | None = getattr(getattr(context.context, "runtime", None), "metrics", None)
        if metrics is None:
            return
        operation_type = _operation_type(context)
        partial_errors = getattr(context.context, "partial_errors", None)
        outcome = _outcome(context.result, partial_errors)
        name = _operation_name(context)
        elapsed = time.perf_counter() - started
        metrics.record_operation(operation_type, name, outcome, None if operation_type == "subscription" else elapsed)
        fields: dict[str, Any] = {
            "operation_type": operation_type,
            "operation_name": metrics.operation_label(name),
            "outcome": outcome,
        }
        if outcome != "ok":
            metrics.record_errors(context.result, partial_errors)
            codes, sources = error_summary(context.result, partial_errors)
            fields.update(error_codes=codes, error_sources=sources)
            # One line per failed operation, whatever its transport (a WebSocket's access line comes only at its
            # close): what failed and where, and the request id the client got back.
            _failures.warning("operation failed", request_id=getattr(context.context, "request_id", None), **fields)
        scope = getattr(getattr(context.context, "request", None), "scope", None)
        if isinstance(scope, dict) and isinstance(scope.get("state"), dict):
            scope["state"]["graphql"] = fields


def error_summary(result: Any, partial_errors: list[Any] | None) -> tuple[list[str], list[str]]:
    """The distinct error codes and sources of a response's errors (its own and the partial ones), sorted."""
    codes: set[str] = set()
    sources: set[str] = set()
    for error in [*(getattr(result, "errors", None) or []), *(partial_errors or [])]:
        extensions = getattr(error, "extensions", None) or {}
        code = str(extensions.get("code") or "INTERNAL")
        codes.add(code if _CODE.fullmatch(code) else "OTHER")
        source = extensions.get("source")
        if isinstance(source, str):
            sources.add(source[:64])
    return sorted(codes), sorted(sources)


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
