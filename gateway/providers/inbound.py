"""What the kinds' ``inbound.py`` modules share: the refusals of a delivery, the normalised form of an accepted one,
and Standard Webhooks (https://www.standardwebhooks.com), the scheme of kinds that document none of their own.

A kind's ``inbound.py`` has two functions, registered in its kit and called by ``gateway/events/`` through the
registry:

- ``verify(source, config, headers, body, now)`` returns if ``body`` with ``headers`` (lower-case names) is an
  authentic delivery for ``source``, and raises a :class:`SignatureError` otherwise. It runs on the raw bytes,
  before any parsing. Every comparison of a secret-derived value is :func:`hmac.compare_digest` over bytes. A source
  with nothing to verify against refuses every delivery (:class:`NotConfigured`): an unsigned delivery is never
  accepted;
- ``normalise(payload, headers)`` reads the event's type, the provider's event id (the dedupe key) and when it
  occurred from a verified JSON object (:class:`Normalised`). Tolerant: what cannot be read is None, never an error.

Refusals carry the HTTP status to answer and a message that names the header and the configuration key, never a
secret, a signature or a part of the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.parsing import parse_instant

STANDARD_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")
TOLERANCE_S: Final = 300  # Dixa's and Standard Webhooks' replay window: 5 minutes either way

#: A signature header is a few dozen bytes; anything much longer is not one, and parsing it would only cost time.
MAX_SIGNATURE_HEADER: Final = 1024

# Event types and ids come from the provider's body: bounded, so that a hostile-but-signed body cannot bloat indexes.
MAX_NAME: Final = 200


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


@dataclass(frozen=True, slots=True)
class Normalised:
    """What a kind reads from a verified delivery; None where the delivery does not say.

    The receiver records a missing type as ``unknown`` and a missing event id as ``sha256:<hex of the raw body>``.
    """

    type: str | None
    event_id: str | None
    occurred_at: datetime | None


def field(payload: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` with a non-null value in ``payload``."""
    for name in names:
        if payload.get(name) is not None:
            return payload[name]
    return None


def text(value: Any) -> str | None:
    """A short identifier from a JSON value: strings and integers only (a float or an object is no id)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    stripped = str(value).strip()
    return stripped[:MAX_NAME] or None


# ------------------------------------------------------------------------------------------ Standard Webhooks


def standard_signature(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` (``v1,<base64>``), as the sandbox and the tests send it."""
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    mac = hmac.new(key, f"{msg_id}.{timestamp_s}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify_standard(
    source: str, kind: str, secret: SecretStr | None, headers: Mapping[str, str], body: bytes, now: float
) -> None:
    """Standard Webhooks with ``secret`` (``sources.<source>.standard_webhooks_secret``), verified by the
    ``standardwebhooks`` library within :data:`TOLERANCE_S`."""
    if secret is None:
        raise NotConfigured(
            f"{kind} documents no signature for its deliveries: set sources.{source}.standard_webhooks_secret "
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
    if len(signature) > MAX_SIGNATURE_HEADER or not all(map(_is_standard_entry, signature.split())):
        raise MalformedSignature("webhook-signature must be space-separated v1,<base64> entries")
    try:
        body_text = body.decode("utf-8")
    except UnicodeDecodeError:
        # The library signs text; a body that is not UTF-8 cannot be a Standard Webhooks payload.
        raise InvalidSignature("webhook-signature does not match the body") from None
    verifier = StandardWebhook(secret.get_secret_value())
    # The library compares with hmac.compare_digest; its format errors surface as ValueError (split, base64).
    try:
        verifier.verify(
            body_text,
            {name: headers[name] for name in STANDARD_HEADERS} | {"webhook-signature": _only_entries(signature)},
            json_parse=False,
        )
    except WebhookVerificationError:
        raise InvalidSignature("webhook-signature does not match the body") from None
    except (ValueError, TypeError, OverflowError):
        raise MalformedSignature("webhook-signature must be space-separated v1,<base64> entries") from None


def normalise_standard(payload: Mapping[str, Any], headers: Mapping[str, str]) -> Normalised:
    """Standard Webhooks payloads are ``{"type", "timestamp", "data"}``; the message id is the idempotency key."""
    return Normalised(
        type=text(payload.get("type")),
        event_id=text(headers.get("webhook-id")),
        occurred_at=parse_instant(payload.get("timestamp")),
    )


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
