"""Signature checks for inbound deliveries, one scheme per source kind, run on the raw body before any parsing.

==============  =====================================================================================================
kind            what a delivery must carry (providers.md), checked by ``gateway/providers/<kind>/inbound.py``
==============  =====================================================================================================
uipath          ``X-UiPath-Signature: base64(HMAC-SHA256(key=utf8(webhook_secret), msg=raw body))``
dixa            ``X-DIXA-SIGNATURE: t=<epoch ms>,v1=<hex>`` with v1 = ``hex(HMAC-SHA256(key, msg=f"{t}." + raw
                body))``, key = any subscription's own ``secretKey`` as UTF-8 (learned from Dixa, kept in the store)
                or ``bytes.fromhex(webhook_secret_key)``; ``t`` within 5 minutes of our clock
auco            the configured header ``webhook_header_key: webhook_header_value`` (Auco signs nothing)
workflowgen,    no documented scheme: Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
druid           with ``standard_webhooks_secret``, verified by the ``standardwebhooks`` library (5-minute tolerance)
==============  =====================================================================================================

Each kind's check is registered in its kit; :func:`verify` dispatches through the provider registry. A source with
nothing to verify against refuses every delivery (:class:`NotConfigured`): an unsigned delivery is never accepted.

Failures are :class:`SignatureError` subclasses carrying the HTTP status to answer and a message that names the header
and the configuration key, never a secret, a signature or a part of the body.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from gateway.config import SourceConfig
from gateway.providers.inbound import (
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    NotConfigured,
    SignatureError,
    StaleSignature,
)
from gateway.providers.registry import kit_of

__all__ = [
    "InvalidSignature",
    "MalformedSignature",
    "MissingSignature",
    "NotConfigured",
    "SignatureError",
    "StaleSignature",
    "learns_keys",
    "verify",
]


def verify(
    source: str,
    config: SourceConfig,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    keys: Sequence[str] = (),
) -> None:
    """Return if ``body`` with ``headers`` (lower-case names) is an authentic delivery for ``source``; else raise a
    :class:`SignatureError`. ``now`` (epoch seconds) is for tests of the timestamp window; ``keys`` are the source's
    stored verification keys (:func:`learns_keys` says whether its kind has any)."""
    kit = kit_of(config.kind)
    at = time.time() if now is None else now
    if kit.verify_with_keys is not None:
        kit.verify_with_keys(source, config, headers, body, at, keys=keys)
    else:
        kit.verify(source, config, headers, body, at)


def learns_keys(config: SourceConfig) -> bool:
    """Whether deliveries to this source are checked against keys kept in the store (Dixa: one per subscription)."""
    return kit_of(config.kind).verify_with_keys is not None
