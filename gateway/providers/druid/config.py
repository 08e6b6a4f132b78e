"""``[sources.NAME]`` with ``kind = "druid"``: a DRUID tenant, by token or ExternalAuthenticate credentials."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from gateway.providers.source import Secret, SourceBase, Url, check_standard_secret


class DruidSource(SourceBase):
    kind: Literal["druid"] = "druid"
    endpoints_url: Url
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    tenant: str | None = None
    bot_id: str | None = None
    # As for WorkflowGen: DRUID documents no outbound signature, so /hooks accepts Standard Webhooks only.
    standard_webhooks_secret: Secret | None = None

    _standard = field_validator("standard_webhooks_secret")(check_standard_secret)

    @model_validator(mode="after")
    def _one_auth(self) -> DruidSource:
        if self.token is None and not all((self.username, self.password, self.tenant)):
            raise ValueError("set either token, or username + password + tenant")
        return self


def sandbox_source(base: str) -> dict[str, Any]:
    """The source pointed at the sandbox's simulator served at ``base`` (no trailing slash)."""
    return {"kind": "druid", "base_url": f"{base}/druid", "endpoints_url": f"{base}/druid",
            "username": "sandbox", "password": "sandbox", "tenant": "Documentation", "bot_id": "bot-1",
            "sandbox": True}  # fmt: skip
