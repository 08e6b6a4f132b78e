"""Deliveries from WorkflowGen: WorkflowGen documents no signature of its own, so they are accepted only when
signed per Standard Webhooks with ``standard_webhooks_secret`` (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``). The payload is ``{"type", "timestamp", "data"}``; ``webhook-id`` is the dedupe key.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.providers.inbound import normalise_standard as normalise
from gateway.providers.inbound import verify_standard
from gateway.providers.workflowgen.config import WorkflowGenSource

__all__ = ["normalise", "verify"]


def verify(source: str, config: WorkflowGenSource, headers: Mapping[str, str], body: bytes, now: float) -> None:
    verify_standard(source, config.kind, config.standard_webhooks_secret, headers, body, now)
