"""Dixa's deliveries: ``X-DIXA-SIGNATURE: t=<epoch ms>,v1=<hex>`` with v1 = ``hex(HMAC-SHA256(key, msg=f"{t}." +
raw body))``; ``t`` within 5 minutes of our clock.

Every subscription has its own ``secretKey`` (CONTRACT.md, second round). A delivery is accepted when v1 matches the
key of any subscription of the source, the key used as its UTF-8 bytes (the document's example key is not hex, so
hex decoding cannot be the rule [doc]); the adapter learns those keys from Dixa's answers and keeps them in the store.
``webhook_secret_key`` (hex-decoded, as before) is always accepted besides.

Bodies say ``event_fqn: CONVERSATION_CREATED``; the catalogue (and subscription filters) say ``ConversationCreated``,
so the event is recorded under the catalogue's name. ``event_id`` is the dedupe key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from gateway.parsing import parse_instant
from gateway.providers.dixa.catalogue import EVENTS
from gateway.providers.dixa.config import DixaSource
from gateway.providers.inbound import (
    MAX_SIGNATURE_HEADER,
    TOLERANCE_S,
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    Normalised,
    NotConfigured,
    StaleSignature,
    text,
)

HEADER: Final = "x-dixa-signature"


def signature(secret_key_hex: str, body: bytes, timestamp_ms: int) -> str:
    """The ``X-DIXA-SIGNATURE`` for ``body`` at ``timestamp_ms`` under a configured (hex) ``webhook_secret_key``."""
    return _header(bytes.fromhex(secret_key_hex), body, timestamp_ms)


def subscription_signature(secret_key: str, body: bytes, timestamp_ms: int) -> str:
    """The ``X-DIXA-SIGNATURE`` value Dixa sends for ``body`` under a subscription's ``secretKey`` (its UTF-8 bytes)."""
    return _header(secret_key.encode(), body, timestamp_ms)


def _header(key: bytes, body: bytes, timestamp_ms: int) -> str:
    mac = hmac.new(key, f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_ms},v1={mac}"


def _parse(header: str) -> tuple[str, list[bytes]]:
    """``t`` (as sent, since it is signed as text) and every ``v1`` digest; MalformedSignature otherwise."""
    if len(header) > MAX_SIGNATURE_HEADER:
        raise MalformedSignature("X-DIXA-SIGNATURE is too long")
    timestamp: str | None = None
    digests: list[bytes] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignature("X-DIXA-SIGNATURE must be t=<epoch ms>,v1=<hex>")
        if name == "t":
            # ASCII digits only: str.isdigit() would accept other scripts' digits, which int() then reads.
            if timestamp is not None or not (value.isascii() and value.isdigit()) or len(value) > 16:
                raise MalformedSignature("X-DIXA-SIGNATURE has a bad t= timestamp")
            timestamp = value
        elif name == "v1":
            if len(value) != 64 or not value.isascii():
                raise MalformedSignature("X-DIXA-SIGNATURE has a bad v1= signature")
            try:
                digests.append(bytes.fromhex(value))
            except ValueError:
                raise MalformedSignature("X-DIXA-SIGNATURE has a bad v1= signature") from None
        # Other names (a future v2) are ignored, as signature schemes of this family expect.
    if timestamp is None or not digests:
        raise MalformedSignature("X-DIXA-SIGNATURE must be t=<epoch ms>,v1=<hex>")
    return timestamp, digests


def verify(
    source: str,
    config: DixaSource,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    *,
    keys: Sequence[str] = (),
) -> None:
    """Accept a delivery signed with any of ``keys`` (the source's subscriptions' own keys, as UTF-8) or with the
    configured ``webhook_secret_key`` (hex); raise a ``SignatureError`` otherwise."""
    candidates = [key.encode() for key in keys if key]
    if config.webhook_secret_key is not None:
        candidates.append(bytes.fromhex(config.webhook_secret_key.get_secret_value()))
    if not candidates:
        raise NotConfigured(
            f"source '{source}' knows no subscription's secretKey yet and has no webhook_secret_key: list or create "
            f"its webhooks through the gateway, or set sources.{source}.webhook_secret_key, to accept its deliveries"
        )
    header = headers.get(HEADER)
    if header is None:
        raise MissingSignature("missing X-DIXA-SIGNATURE header")
    timestamp, digests = _parse(header)
    if abs(now * 1000 - int(timestamp)) > TOLERANCE_S * 1000:
        raise StaleSignature("X-DIXA-SIGNATURE timestamp is more than 5 minutes away from now")
    signed = timestamp.encode() + b"." + body
    # Every key and every candidate is compared, so the time taken does not reveal which one matched.
    matched = False
    for key in candidates:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        for digest in digests:
            matched |= hmac.compare_digest(digest, expected)
    if not matched:
        raise InvalidSignature("X-DIXA-SIGNATURE does not match the body")


def fqn(name: str) -> str:
    """``SLAEvaluationPending`` → ``SLA_EVALUATION_PENDING``: Dixa's fully qualified name of a catalogue event."""
    return re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", re.sub(r"([a-z])([A-Z])", r"\1_\2", name)).upper()


#: A delivery's ``event_fqn`` → the catalogue's name of the event.
EVENT_NAMES: Final[Mapping[str, str]] = {fqn(name): name for name in EVENTS}


def normalise(payload: Mapping[str, Any], headers: Mapping[str, str]) -> Normalised:
    name = text(payload.get("event_fqn"))
    return Normalised(
        type=EVENT_NAMES.get(name, name) if name else None,
        event_id=text(payload.get("event_id")),
        occurred_at=parse_instant(payload.get("event_timestamp")),
    )
