"""``[sources.NAME]`` with ``kind = "dixa"``: an organization's API key and its webhooks' secretKey."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import SecretStr, field_validator

from gateway.providers.source import Secret, SourceBase


class DixaSource(SourceBase):
    kind: Literal["dixa"] = "dixa"
    api_key: Secret
    webhook_secret_key: Secret | None = None

    @field_validator("webhook_secret_key")
    @classmethod
    def _hex(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                bytes.fromhex(value.get_secret_value())
            except ValueError:
                raise ValueError("must be hexadecimal (Dixa's secretKey)") from None
        return value


def sandbox_source(base: str) -> dict[str, Any]:
    """The source pointed at the sandbox's simulator served at ``base`` (no trailing slash)."""
    return {"kind": "dixa", "base_url": f"{base}/dixa", "api_key": "sandbox-dixa-key",
            "webhook_secret_key": "73616e64626f78", "sandbox": True}  # fmt: skip
