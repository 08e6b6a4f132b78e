"""Auco's deliveries: Auco signs nothing; each carries the webhook's configured header
(``webhook_header_key: webhook_header_value``), compared in constant time.

Bodies name a document or a package (``"package"`` present) and a ``status``: the event is ``document.<STATUS>`` or
``package.<STATUS>``, the catalogue's names. Auco documents no event id: the receiver keys the event by its body.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from gateway.providers.auco.config import AucoSource
from gateway.providers.inbound import (
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    Normalised,
    NotConfigured,
    text,
)


def verify(source: str, config: AucoSource, headers: Mapping[str, str], body: bytes, now: float) -> None:
    if not config.webhook_header_key or config.webhook_header_value is None:
        raise NotConfigured(
            f"source '{source}' has no webhook header: set sources.{source}.webhook_header_key and "
            "webhook_header_value to the header of the Auco webhook to accept its deliveries"
        )
    name = config.webhook_header_key
    given = headers.get(name.lower())
    if given is None:
        raise MissingSignature(f"missing {name} header")
    # Starlette decodes header bytes as latin-1; encoding back gives the bytes that were sent.
    try:
        given_bytes = given.encode("latin-1")
    except UnicodeEncodeError:  # cannot come from the wire, only from a caller building headers by hand
        raise MalformedSignature(f"{name} is not a valid header value") from None
    expected = config.webhook_header_value.get_secret_value().encode()
    if not hmac.compare_digest(given_bytes, expected):
        raise InvalidSignature(f"{name} does not match the configured webhook_header_value")


def normalise(payload: Mapping[str, Any], headers: Mapping[str, str]) -> Normalised:
    # The catalogue's names: "document.<STATUS>" and "package.<STATUS>" (package bodies carry "package").
    group = "package" if "package" in payload else "document"
    status = text(payload.get("status"))
    return Normalised(type=f"{group}.{status.upper()}" if status else None, event_id=None, occurred_at=None)
