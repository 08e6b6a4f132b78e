"""``[sources.NAME]`` with ``kind = "auco"``: a company's public and private keys, and its webhooks' header."""

from __future__ import annotations

from typing import Any, Literal

from gateway.providers.source import Secret, SourceBase


class AucoSource(SourceBase):
    kind: Literal["auco"] = "auco"
    private_key: Secret
    public_key: Secret
    webhook_header_key: str | None = None
    webhook_header_value: Secret | None = None


def sandbox_source(base: str) -> dict[str, Any]:
    """The source pointed at the sandbox's simulator served at ``base`` (no trailing slash)."""
    return {"kind": "auco", "base_url": f"{base}/auco/v1.5/ext", "private_key": "prk_sandbox",
            "public_key": "puk_sandbox", "webhook_header_key": "X-Auco-Token",
            "webhook_header_value": "sandbox-auco-token", "sandbox": True}  # fmt: skip
