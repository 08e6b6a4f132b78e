"""``[sources.NAME]`` with ``kind = "workflowgen"``: incoming webhooks for writes, the GraphQL API for reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from gateway.providers.source import Secret, SourceBase, check_standard_secret


class WorkflowGenSource(SourceBase):
    kind: Literal["workflowgen"] = "workflowgen"
    hook_token: Secret
    graphql_username: str | None = None
    graphql_password: Secret | None = None
    impersonate_username: str | None = None
    # WorkflowGen has no outbound signature scheme; deliveries to /hooks are accepted only when signed per
    # Standard Webhooks (https://www.standardwebhooks.com) with this secret.
    standard_webhooks_secret: Secret | None = None

    _standard = field_validator("standard_webhooks_secret")(check_standard_secret)


def sandbox_source(base: str) -> dict[str, Any]:
    """The source pointed at the sandbox's simulator served at ``base`` (no trailing slash)."""
    return {"kind": "workflowgen", "base_url": f"{base}/workflowgen", "hook_token": "sandbox-wfgen-token",
            "graphql_username": "wfgen_admin", "graphql_password": "sandbox",
            "standard_webhooks_secret": "whsec_c2FuZGJveC13b3JrZmxvd2dlbi1zZWNyZXQ=", "sandbox": True}  # fmt: skip
