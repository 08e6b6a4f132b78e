"""Optional OpenTelemetry tracing: spans for inbound requests and upstream calls when its packages are importable."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp

from gateway.observability.redaction import redact


def setup_tracing(app: ASGIApp) -> ASGIApp:
    """OpenTelemetry spans for inbound requests and upstream calls when its packages are importable; else ``app``.

    Needs ``opentelemetry-instrumentation-asgi``; with ``opentelemetry-instrumentation-aiohttp-client`` upstream
    calls get spans too (httpx-aiohttp sends through aiohttp), their URLs redacted. With ``opentelemetry-sdk``,
    ``opentelemetry-exporter-otlp`` and ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, spans are exported over OTLP (the
    ``OTEL_*`` variables are OpenTelemetry's own convention, read as its SDK reads them).
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
