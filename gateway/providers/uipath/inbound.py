"""UiPath's deliveries: ``X-UiPath-Signature: base64(HMAC-SHA256(key=utf8(webhook_secret), msg=raw body))``.

The body names its type (``Type``), its id (``EventId``, the dedupe key) and its time (``Timestamp``), either casing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from gateway.parsing import parse_instant
from gateway.providers.inbound import (
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    Normalised,
    NotConfigured,
    field,
    text,
)
from gateway.providers.uipath.config import UiPathSource

HEADER: Final = "x-uipath-signature"


def signature(secret: str, body: bytes) -> str:
    """The ``X-UiPath-Signature`` value UiPath sends for ``body`` (also used by the tests)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def verify(source: str, config: UiPathSource, headers: Mapping[str, str], body: bytes, now: float) -> None:
    if config.webhook_secret is None:
        raise NotConfigured(
            f"source '{source}' has no webhook_secret: set sources.{source}.webhook_secret to the Secret of the "
            "UiPath webhook to accept its deliveries"
        )
    header = headers.get(HEADER)
    if header is None:
        raise MissingSignature("missing X-UiPath-Signature header")
    try:
        given = header.strip().encode("latin-1")
        decoded = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise MalformedSignature("X-UiPath-Signature is not base64") from None
    if len(decoded) != hashlib.sha256().digest_size:
        raise MalformedSignature("X-UiPath-Signature is not a base64 HMAC-SHA256")
    expected = hmac.new(config.webhook_secret.get_secret_value().encode(), body, hashlib.sha256).digest()
    # The canonical text is compared, not the decoded bytes: base64's unused trailing bits would otherwise let
    # several header values pass for one signature.
    if not hmac.compare_digest(given, base64.b64encode(expected)):
        raise InvalidSignature("X-UiPath-Signature does not match the body")


def normalise(payload: Mapping[str, Any], headers: Mapping[str, str]) -> Normalised:
    return Normalised(
        type=text(field(payload, "Type", "type")),
        event_id=text(field(payload, "EventId", "eventId")),
        occurred_at=parse_instant(field(payload, "Timestamp", "timestamp", "EventTime")),
    )
