"""Inbound deliveries at ``POST /hooks/{source}``: verify, parse, normalise, append durably, publish, answer.

The order is the contract (CONTRACT.md: "every inbound delivery that got a 2xx is in the event log, once"):

1. the source must be configured (404 otherwise) and the body within ``limits.max_body_bytes`` (413);
2. the signature is checked on the raw bytes, before any parsing (:mod:`gateway.events.signatures`: 400, 401, 403),
   against the configured secret and, for a kind that learns keys (Dixa), the source's keys in the store; when no
   key matches, the source's adapter is asked once to learn its keys again from the provider (it limits how often:
   Dixa at most once per 30 s per source) and the check is repeated with what it learned;
3. the body must be a JSON object (400);
4. it is normalised into a :class:`~gateway.store.NewEvent` (type, provider event id, occurrence time) per kind;
5. :meth:`Store.append` returns only once the event is durable; if it fails, the answer is 503 and nothing is
   acknowledged (the provider's redelivery, if any, is deduplicated by its event id);
6. the broker is told, so that live subscribers on every replica see the event (a failure here loses nothing: the
   event is in the log, and the broker's tailer finds it on its next read);
7. ``200 {"cursor": ..., "duplicate": false}``; a redelivery of an event already in the log answers 200 with the
   first event's cursor and ``"duplicate": true``.

Nothing here logs a header value or a body: they may carry secrets or personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any, Final, Protocol, runtime_checkable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.config import Settings, SourceConfig
from gateway.events.broker import Broker
from gateway.events.signatures import InvalidSignature, NotConfigured, SignatureError, learns_keys, verify
from gateway.providers.registry import kit_of
from gateway.store import NewEvent, RawPayload, Store, StoreError

log = logging.getLogger("hookgate.events")

UNKNOWN_TYPE: Final = "unknown"
PUBLISH_TIMEOUT_S: Final = 1.0


class Inbox(Protocol):
    """What the receiver needs of the runtime (gateway/runtime.py), without importing it (and GraphQL with it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def broker(self) -> Broker | None: ...

    @property
    def metrics(self) -> DeliveryCounter: ...

    @property
    def adapters(self) -> Mapping[str, object]: ...

    def invalidate_source(self, name: str) -> None: ...


@runtime_checkable
class KeyRefresher(Protocol):
    """An adapter that can learn its source's verification keys again (Dixa: a list of its subscriptions)."""

    async def refresh_verification_keys(self) -> bool:
        """Learn them again, if its rate limit allows; True when it did (the store may hold new keys)."""
        ...


class DeliveryCounter(Protocol):
    """``hookgate_inbound_deliveries_total`` (gateway/observability/metrics.py)."""

    def record_delivery(self, source: str, verdict: str) -> None: ...


#: The metric's ``verdict`` for each refusal code of this module and of gateway/events/signatures.py.
_VERDICTS: Final = {
    "UNKNOWN_SOURCE": "unknown_source",
    "TOO_LARGE": "too_large",
    "INVALID_JSON": "malformed",
    "STORE_UNAVAILABLE": "store_unavailable",
    "NOT_CONFIGURED": "not_configured",
    "SIGNATURE_STALE": "stale",
}


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _refuse(status: int, code: str, message: str) -> Response:
    return _answer(status, {"error": code, "message": message})


async def receive_delivery(services: Inbox, request: Request) -> Response:
    """Handle one delivery to ``/hooks/{source}``; see the module docstring for the steps and the answers. Each is
    counted in ``hookgate_inbound_deliveries_total`` by its verdict: ``accepted``, ``duplicate``, or the refusal's
    reason (``bad_signature``, ``stale``, ``malformed``, ``too_large``, ``unknown_source``, ``store_unavailable``...).
    An exception (a body over the limit while it streams in, a client gone) is the caller's to answer and count.
    """
    response = await _receive(services, request)
    services.metrics.record_delivery(str(request.path_params.get("source", "")), _verdict(response))
    return response


def _verdict(response: Response) -> str:
    try:
        answer = orjson.loads(bytes(response.body))
    except orjson.JSONDecodeError:
        return "error"
    if response.status_code == 200:
        return "duplicate" if answer.get("duplicate") else "accepted"
    code = str(answer.get("error", ""))
    return _VERDICTS.get(code, "bad_signature" if code.startswith("SIGNATURE") else code.lower() or "error")


async def _receive(services: Inbox, request: Request) -> Response:
    source = str(request.path_params.get("source", ""))
    config = services.settings.sources.get(source)
    if config is None:
        # The configured names are not listed: this endpoint is reachable by anyone on the internet.
        return _refuse(404, "UNKNOWN_SOURCE", f"no source named '{source[:100]}' is configured")
    # RequestGate enforces the limit while the body streams in; this covers a gateway mounted without it.
    body = await request.body()
    limit = services.settings.limits.max_body_bytes
    if len(body) > limit:
        return _refuse(413, "TOO_LARGE", f"request body is larger than {limit} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}
    refused = await _verified(services, source, config, headers, body)
    if refused is not None:
        return refused
    try:
        fields, kept = read_body(body)
    except ValueError:
        return _refuse(400, "INVALID_JSON", "the body is not JSON")
    if fields is None and not (isinstance(kept, RawPayload) and not kept.json):
        return _refuse(400, "INVALID_JSON", "the body must be a JSON object")
    event = normalise(source, config, fields or {}, body, headers, kept=kept)
    window = replay_window_s(services.settings)
    if (
        config.kind in BODY_TIMESTAMP_KINDS
        and window is not None
        and event.occurred_at is not None
        and time.time() - event.occurred_at.timestamp() > window
    ):
        # Authentic bytes, but older than the log keeps their dedupe key: accepting them would store the event twice.
        return _refuse(
            401,
            "SIGNATURE_STALE",
            f"the delivery's timestamp is more than {window / 86_400:g} days old, past the event log's dedupe window: "
            "a replay",
        )
    try:
        result = await services.store.append(event)
    except (StoreError, OSError) as exc:
        log.error("event log append failed for /hooks/%s: %s", source, type(exc).__name__)
        # 503 + Retry-After: the provider (or a proxy in front of us) may retry; nothing was acknowledged.
        return _refuse(503, "STORE_UNAVAILABLE", "the event log is unavailable; retry later")
    if not result.duplicate:
        # The source changed: answers cached from it (response cache, catalogue) are stale now.
        services.invalidate_source(source)
    if not result.duplicate and services.broker is not None:
        try:
            # Bounded: a provider waiting on a stuck pub/sub would time out, and UiPath then disables the webhook.
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await services.broker.publish(result.event)
        except Exception as exc:
            # Durable already: the broker's tailer reads the log, so live subscribers still get it, a little later.
            log.warning("publishing event %s failed: %s", result.event.cursor, type(exc).__name__)
    return _answer(200, {"cursor": result.event.cursor, "duplicate": result.duplicate})


async def _verified(
    services: Inbox, source: str, config: SourceConfig, headers: Mapping[str, str], body: bytes
) -> Response | None:
    """None when the delivery's signature holds; else the refusal. For a kind that learns keys, a signature that no
    stored key matches makes the adapter learn the keys again once (rate-limited there) before it is refused."""
    if not learns_keys(config):
        try:
            verify(source, config, headers, body)
        except SignatureError as exc:
            log.info("refused a delivery to /hooks/%s: %s", source, exc.code)
            return _refuse(exc.status, exc.code, exc.message)
        return None
    adapter = services.adapters.get(source)
    for attempt in range(2):
        # The keys the source's adapter learned from its provider (Dixa: one secretKey per subscription).
        try:
            keys = await services.store.verification_keys(source)
        except (StoreError, OSError) as exc:
            log.error("reading verification keys failed for /hooks/%s: %s", source, type(exc).__name__)
            return _refuse(503, "STORE_UNAVAILABLE", "the event log is unavailable; retry later")
        try:
            verify(source, config, headers, body, keys=keys)
        except SignatureError as exc:
            # Only a signature no known key matches can be cured by new keys (not a missing, malformed or old one).
            if (
                attempt == 0
                and isinstance(exc, InvalidSignature | NotConfigured)
                and isinstance(adapter, KeyRefresher)
                and await adapter.refresh_verification_keys()
            ):
                continue
            log.info("refused a delivery to /hooks/%s: %s", source, exc.code)
            return _refuse(exc.status, exc.code, exc.message)
        return None
    raise AssertionError("unreachable: the second attempt answers")


# ---------------------------------------------------------------------------------------------------- replays

#: Kinds whose signature covers a timestamp only inside the body (UiPath's ``Timestamp``), with no signed-header
#: window of its own (Dixa and Standard Webhooks refuse a signature older than 5 minutes: gateway/events/signatures.py;
#: Auco sends no timestamp at all). UiPath never redelivers, so an old signed body can only be a capture replayed.
BODY_TIMESTAMP_KINDS: Final = frozenset({"uipath"})
#: Margin between the replay window and retention: clock skew between the provider and us, and the time between two
#: retention passes.
REPLAY_MARGIN_S: Final = 3600.0


def replay_window_s(settings: Settings) -> float | None:
    """How old (by its own signed timestamp) a delivery may be and still be deduplicated against the log: retention
    (``[events] retention_days``) less :data:`REPLAY_MARGIN_S`; None when the log keeps events by count only.

    Dedupe keys live as long as their event (gateway/store), so an older delivery could be stored a second time.
    ``retention_max_events`` may trim sooner under heavy traffic; size it for at least the window's events."""
    days = settings.events.retention_days
    if days is None:
        return None
    retention_s = days * 86_400
    # The window must stay inside retention whatever its length, or a capture replayed just after its event was
    # trimmed would be stored again: a retention shorter than ten margins keeps a tenth of itself as margin.
    return retention_s - min(REPLAY_MARGIN_S, retention_s / 10)


# ---------------------------------------------------------------------------------------------------- normalising


def read_body(body: bytes) -> tuple[dict[str, Any] | None, Any]:
    """``(fields, kept)``: the JSON object whose fields the log indexes (None when the body is not an object, or
    too deep for any parser), and what the log keeps. Raises ``ValueError`` for a body that is not JSON.

    An authentic delivery is never refused for its shape. What orjson reads and encodes again exactly is kept as a
    value; anything else is kept as the body's own bytes (:class:`~gateway.store.RawPayload`): integers beyond 64
    bits (orjson reads them as floats, Python's ``json`` exactly, within its 4,300 digits), nesting deeper than the 254
    levels orjson encodes (it reads 1,024), strings it refuses; and, as opaque bytes, nesting or numbers beyond what
    either parser reads.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            # Python's parser: exact integers of any size, lone surrogates; recursion-bound (about 900 levels here).
            value = json.loads(body, parse_constant=_no_constant)
        except RecursionError:
            return None, RawPayload(body, json=False)
        except ValueError as exact_exc:
            if _BEYOND_LIMITS.search(str(exc)) or _BEYOND_LIMITS.search(str(exact_exc)):
                return None, RawPayload(body, json=False)
            raise ValueError("not JSON") from None
        return (value if isinstance(value, dict) else None), RawPayload(body)
    fields = value if isinstance(value, dict) else None
    if _BIG_INTEGER.search(body) is not None:
        # orjson made floats of integers past 64 bits: keep the bytes, and index from an exact reading.
        with contextlib.suppress(ValueError, RecursionError):
            exact = json.loads(body, parse_constant=_no_constant)
            fields = exact if isinstance(exact, dict) else None
        return fields, RawPayload(body)
    if body.count(b"[") + body.count(b"{") > _ORJSON_MAX_DEPTH:
        try:
            orjson.dumps(value)  # only a body with that many brackets can nest that deep
        except TypeError:
            return fields, RawPayload(body)
    return fields, value


def _no_constant(name: str) -> Any:
    """Python's parser takes ``NaN`` and ``Infinity``, which are not JSON (and would make the served answer invalid)."""
    raise ValueError(f"{name} is not JSON")


# orjson encodes at most 254 levels of nesting (it reads 1,024).
_ORJSON_MAX_DEPTH: Final = 254
# Twenty digits or more (2**64 has 20), not part of a fraction or an exponent. A match inside a string is harmless:
# the body is then kept as bytes, which serves it just as exactly.
_BIG_INTEGER: Final = re.compile(rb"(?<![0-9.eE+\-])-?[0-9]{20,}(?![0-9.eE])")
# The parsers' words for a body that may well be JSON but is beyond what they read.
_BEYOND_LIMITS: Final = re.compile(r"depth|recursion|infinity|out of range|[Ee]xceeds the limit")


def normalise(
    source: str,
    config: SourceConfig,
    payload: dict[str, Any],
    body: bytes,
    headers: dict[str, str],
    *,
    kept: Any = None,
) -> NewEvent:
    """The log entry for a verified delivery. Tolerant: an authentic delivery is never refused for its shape, since
    a refusal costs UiPath users an hour of events; what cannot be read is recorded as ``unknown``.

    Provider event ids (the dedupe key): UiPath ``EventId``, Dixa ``event_id``, Standard Webhooks ``webhook-id``.
    Auco documents none, and any delivery missing its id gets the same fallback: ``sha256:<hex of the raw body>``,
    stable across redeliveries of the same bytes (two distinct notifications with byte-identical bodies would be kept
    once; Auco bodies name the document, status and signer, so that would be the same notification).

    ``kept`` is what the log stores (see :func:`read_body`); by default ``payload`` itself.
    """
    # The kind reads its own deliveries (gateway/providers/<kind>/inbound.py), through the registry.
    read = kit_of(config.kind).normalise(payload, headers)
    event_type, event_id, occurred = read.type, read.event_id, read.occurred_at
    if event_id is None:
        event_id = "sha256:" + hashlib.sha256(body).hexdigest()
    return NewEvent(
        source=source,
        provider=config.kind,
        type=event_type or UNKNOWN_TYPE,
        payload=payload if kept is None else kept,
        provider_event_id=event_id,
        occurred_at=occurred,
    )
