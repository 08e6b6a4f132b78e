"""What every ``[sources.NAME]`` table has (:class:`SourceBase`), and the field types the kinds' config models share.

Each provider kind's ``config.py`` subclasses :class:`SourceBase` with its ``kind`` literal and its own keys;
``gateway/config.py`` joins the registered kinds' models into the discriminated union of ``sources``.
"""

from __future__ import annotations

import base64
import os
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr


def _resolve_env_reference(value: Any) -> Any:
    """``env:NAME`` → the value of environment variable NAME (missing or empty is an error naming NAME)."""
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if not name:
            raise ValueError("'env:' must be followed by an environment variable name")
        resolved = os.environ.get(name)
        if not resolved:
            raise ValueError(f"environment variable {name} is not set")
        return resolved
    if isinstance(value, SecretStr):
        return value
    return value


Secret = Annotated[SecretStr, BeforeValidator(_resolve_env_reference)]


def _strip_slash(url: str) -> str:
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError("must be an absolute http(s) URL")
    return url.rstrip("/")


Url = Annotated[str, BeforeValidator(lambda v: _strip_slash(v) if isinstance(v, str) else v)]


def check_standard_secret(value: SecretStr | None) -> SecretStr | None:
    """A Standard Webhooks secret is base64, optionally prefixed ``whsec_`` (the spec's convention)."""
    if value is not None:
        raw = value.get_secret_value().removeprefix("whsec_")
        try:
            decoded = base64.b64decode(raw + "==", validate=False)
        except ValueError:
            decoded = b""
        if not decoded:
            raise ValueError("must be a Standard Webhooks secret: whsec_ followed by base64")
    return value


class SourceBase(BaseModel):
    """Keys every source has. ``timeout_s`` bounds one upstream call for one field, retries included.

    ``kind`` is each subclass's literal (``Literal["auco"] = "auco"``): the union's discriminator.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    base_url: Url
    timeout_s: float = Field(10.0, gt=0, le=300)
    connect_timeout_s: float = Field(3.0, gt=0, le=60)
    max_concurrency: int = Field(32, ge=1, le=1000)
    retries: int = Field(2, ge=0, le=10, description="retries for reads only; mutations are never retried")
    breaker_failures: int = Field(5, ge=1, le=1000)
    breaker_reset_s: float = Field(30.0, gt=0, le=3600)
    max_batch: int = Field(100, ge=1, le=1000, description="most ids in one batched upstream lookup")
    sandbox: bool = False
