"""Signature checks for inbound deliveries, one scheme per source kind, run on the raw body before any parsing.

==============  =====================================================================================================
kind            what a delivery must carry (providers.md)
==============  =====================================================================================================
uipath          ``X-UiPath-Signature: base64(HMAC-SHA256(key=utf8(webhook_secret), msg=raw body))``
dixa            ``X-DIXA-SIGNATURE: t=<epoch ms>,v1=<hex>`` with v1 = ``hex(HMAC-SHA256(key=bytes.fromhex(
                webhook_secret_key), msg=f"{t}." + raw body))``; ``t`` within 5 minutes of our clock
auco            the configured header ``webhook_header_key: webhook_header_value`` (Auco signs nothing)
workflowgen,    no documented scheme: Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
druid           with ``standard_webhooks_secret``, verified by the ``standardwebhooks`` library (5-minute tolerance)
==============  =====================================================================================================

Every comparison of a secret-derived value is :func:`hmac.compare_digest` over bytes. A source with nothing to verify
against refuses every delivery (:class:`NotConfigured`): an unsigned delivery is never accepted.

Failures are :class:`SignatureError` subclasses carrying the HTTP status to answer and a message that names the header
and the configuration key, never a secret, a signature or a part of the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Final

from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.config import AucoSource, DixaSource, DruidSource, SourceConfig, UiPathSource, WorkflowGenSource

UIPATH_HEADER: Final = "x-uipath-signature"
DIXA_HEADER: Final = "x-dixa-signature"
STANDARD_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")
TOLERANCE_S: Final = 300  # Dixa's and Standard Webhooks' replay window: 5 minutes either way

# A Dixa header is a few dozen bytes; anything much longer is not one, and parsing it would only cost time.
_MAX_SIGNATURE_HEADER: Final = 1024


class SignatureError(Exception):
    """The delivery is refused. ``status`` is the HTTP answer; the message is safe to send back."""

    status: int = 401
    code: str = "SIGNATURE_INVALID"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotConfigured(SignatureError):
    """The source has no secret to verify with, so nothing it receives can be trusted (403)."""

    status = 403
    code = "NOT_CONFIGURED"


class MissingSignature(SignatureError):
    """The header that should carry the signature is absent (401)."""

    code = "SIGNATURE_MISSING"


class MalformedSignature(SignatureError):
    """The header is present but not in the scheme's format (400)."""

    status = 400
    code = "SIGNATURE_MALFORMED"


class StaleSignature(SignatureError):
    """The signed timestamp is outside the tolerance: a replay, or a clock far off (401)."""

    code = "SIGNATURE_STALE"


class InvalidSignature(SignatureError):
    """Well formed, but not made with our secret over this body (401)."""


def verify(
    source: str, config: SourceConfig, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> None:
    """Return if ``body`` with ``headers`` (lower-case names) is an authentic delivery for ``source``; else raise a
    :class:`SignatureError`. ``now`` (epoch seconds) is for tests of the timestamp window."""
    clock = time.time() if now is None else now
    if isinstance(config, UiPathSource):
        _verify_uipath(source, config, headers, body)
    elif isinstance(config, DixaSource):
        _verify_dixa(source, config, headers, body, clock)
    elif isinstance(config, AucoSource):
        _verify_auco(source, config, headers)
    elif isinstance(config, WorkflowGenSource | DruidSource):
        _verify_standard(source, config, headers, body, clock)
    else:  # pragma: no cover - the config union is closed; a new kind must choose a scheme here
        raise NotConfigured(f"source '{source}' has no signature scheme")


# -------------------------------------------------------------------------------------------------------- UiPath


def uipath_signature(secret: str, body: bytes) -> str:
    """The ``X-UiPath-Signature`` value UiPath sends for ``body`` (also used by the sandbox and the tests)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def _verify_uipath(source: str, config: UiPathSource, headers: Mapping[str, str], body: bytes) -> None:
    if config.webhook_secret is None:
        raise NotConfigured(
            f"source '{source}' has no webhook_secret: set sources.{source}.webhook_secret to the Secret of the "
            "UiPath webhook to accept its deliveries"
        )
    header = headers.get(UIPATH_HEADER)
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


# ---------------------------------------------------------------------------------------------------------- Dixa


def dixa_signature(secret_key_hex: str, body: bytes, timestamp_ms: int) -> str:
    """The ``X-DIXA-SIGNATURE`` value Dixa sends for ``body`` at ``timestamp_ms``."""
    mac = hmac.new(bytes.fromhex(secret_key_hex), f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_ms},v1={mac}"


def _parse_dixa(header: str) -> tuple[str, list[bytes]]:
    """``t`` (as sent, since it is signed as text) and every ``v1`` digest; MalformedSignature otherwise."""
    if len(header) > _MAX_SIGNATURE_HEADER:
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


def _verify_dixa(source: str, config: DixaSource, headers: Mapping[str, str], body: bytes, now: float) -> None:
    if config.webhook_secret_key is None:
        raise NotConfigured(
            f"source '{source}' has no webhook_secret_key: set sources.{source}.webhook_secret_key to the "
            "subscription's secretKey (hex) to accept its deliveries"
        )
    header = headers.get(DIXA_HEADER)
    if header is None:
        raise MissingSignature("missing X-DIXA-SIGNATURE header")
    timestamp, digests = _parse_dixa(header)
    if abs(now * 1000 - int(timestamp)) > TOLERANCE_S * 1000:
        raise StaleSignature("X-DIXA-SIGNATURE timestamp is more than 5 minutes away from now")
    key = bytes.fromhex(config.webhook_secret_key.get_secret_value())
    expected = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    # Every candidate is compared, so the time taken does not reveal which one matched.
    matched = False
    for digest in digests:
        matched |= hmac.compare_digest(digest, expected)
    if not matched:
        raise InvalidSignature("X-DIXA-SIGNATURE does not match the body")


# ---------------------------------------------------------------------------------------------------------- Auco


def _verify_auco(source: str, config: AucoSource, headers: Mapping[str, str]) -> None:
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


# ------------------------------------------------------------------------------------------ Standard Webhooks


def standard_signature(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` (``v1,<base64>``), as the sandbox and the tests send it."""
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    mac = hmac.new(key, f"{msg_id}.{timestamp_s}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def _verify_standard(
    source: str, config: WorkflowGenSource | DruidSource, headers: Mapping[str, str], body: bytes, now: float
) -> None:
    if config.standard_webhooks_secret is None:
        raise NotConfigured(
            f"{config.kind} documents no signature for its deliveries: set sources.{source}.standard_webhooks_secret "
            "(whsec_...) and sign deliveries per Standard Webhooks to accept them"
        )
    missing = [name for name in STANDARD_HEADERS if not headers.get(name)]
    if missing:
        raise MissingSignature(f"missing {', '.join(missing)} header(s) (Standard Webhooks)")
    timestamp = headers["webhook-timestamp"].strip()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        raise MalformedSignature("webhook-timestamp must be whole epoch seconds")
    # Checked here as well as in the library, so that a stale delivery gets its own answer.
    if abs(now - int(timestamp)) > TOLERANCE_S:
        raise StaleSignature("webhook-timestamp is more than 5 minutes away from now")
    signature = headers["webhook-signature"]
    if len(signature) > _MAX_SIGNATURE_HEADER or not all(map(_is_standard_entry, signature.split())):
        raise MalformedSignature("webhook-signature must be space-separated v1,<base64> entries")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # The library signs text; a body that is not UTF-8 cannot be a Standard Webhooks payload.
        raise InvalidSignature("webhook-signature does not match the body") from None
    verifier = StandardWebhook(config.standard_webhooks_secret.get_secret_value())
    # The library compares with hmac.compare_digest; its format errors surface as ValueError (split, base64).
    try:
        verifier.verify(
            text,
            {name: headers[name] for name in STANDARD_HEADERS} | {"webhook-signature": _only_entries(signature)},
            json_parse=False,
        )
    except WebhookVerificationError:
        raise InvalidSignature("webhook-signature does not match the body") from None
    except (ValueError, TypeError, OverflowError):
        raise MalformedSignature("webhook-signature must be space-separated v1,<base64> entries") from None


def _is_standard_entry(entry: str) -> bool:
    """One ``version,signature`` entry, judged here so the verdict does not depend on the library's version.

    Releases of ``standardwebhooks`` differ on entries such as ``v1,a,b`` (one reports a bad signature, another a
    format error); the format is ours to check: exactly one comma, a version, and strict base64 after it.
    """
    version, comma, value = entry.partition(",")
    if not (comma and version and value) or "," in value:
        return False
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


def _only_entries(signature: str) -> str:
    # The library splits on single spaces and unpacks each part as "version,signature": drop empty parts first.
    return " ".join(part for part in signature.split(" ") if part)
