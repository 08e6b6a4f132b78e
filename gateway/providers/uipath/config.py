"""``[sources.NAME]`` with ``kind = "uipath"``: an Orchestrator tenant, by token or client credentials."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from gateway.providers.source import Secret, SourceBase, Url


class UiPathSource(SourceBase):
    kind: Literal["uipath"] = "uipath"
    token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    identity_url: Url | None = None
    scope: str = "OR.Webhooks"
    webhook_secret: Secret | None = None

    @model_validator(mode="after")
    def _one_auth(self) -> UiPathSource:
        oauth = (self.client_id, self.client_secret, self.identity_url)
        if self.token is None and not all(oauth):
            raise ValueError("set either token, or client_id + client_secret + identity_url")
        return self


def sandbox_source(base: str) -> dict[str, Any]:
    """The source pointed at the sandbox's simulator served at ``base`` (no trailing slash)."""
    return {"kind": "uipath", "base_url": f"{base}/uipath", "token": "sandbox-uipath-token",
            "webhook_secret": "sandbox-uipath-secret", "sandbox": True}  # fmt: skip
