"""Typed settings: a TOML file plus ``HOOKGATE_*`` environment variables, validated once at start.

Precedence: environment over file over defaults. Nested keys use ``__`` in the environment
(``HOOKGATE_SOURCES__UIPATH__TOKEN``). A secret may be written as ``env:NAME`` to read it from the environment.
Tests build settings from a dict with :meth:`Settings.model_validate`, which reads neither file nor environment.

Errors name the key (``sources.uipath.token``) and what is wrong with it; :func:`load_settings` raises
:class:`ConfigError` with every problem at once, and never includes a secret's value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.providers.registry import KITS
from gateway.providers.source import Secret, SourceBase

Scope = Literal["read", "write", "admin"]


class ConfigError(Exception):
    """The configuration is unusable. The message lists each bad key; it never contains a secret."""


#: The ``[sources.NAME]`` union, one model per registered provider kind, told apart by ``kind``.
if TYPE_CHECKING:
    SourceConfig = SourceBase
else:
    SourceConfig = Annotated[Union[tuple(kit.config for kit in KITS.values())], Field(discriminator="kind")]  # noqa: UP007


class ApiKey(BaseModel):
    """A client credential. Stored as SHA-256 (``key_sha256``), or given as an ``env:`` reference (``key``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    key_sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    key: Secret | None = None
    scopes: tuple[Scope, ...] = ("read",)

    @model_validator(mode="after")
    def _one_key(self) -> ApiKey:
        if (self.key_sha256 is None) == (self.key is None):
            raise ValueError("set exactly one of key_sha256 and key")
        return self


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_depth: int = Field(12, ge=1)
    max_aliases: int = Field(30, ge=1)
    max_tokens: int = Field(5000, ge=1)
    max_cost: int = Field(20000, ge=1)
    max_directives: int = Field(50, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_first: int = Field(500, ge=1)
    # The transport, for `hookgate serve` (gateway/server.py): deadlines and caps of a directly exposed server.
    header_timeout_s: float = Field(10.0, gt=0, le=600, description="connection or request start to complete headers")
    body_timeout_s: float = Field(15.0, gt=0, le=600, description="longest silence between parts of a request body")
    keep_alive_timeout_s: int = Field(5, ge=1, le=600, description="idle time kept between requests")
    max_header_bytes: int = Field(65_536, ge=1024, le=16_777_216, description="request line and headers together")


class Events(BaseModel):
    """The ``[events]`` table: the inbound event log's retention and the live subscriptions' limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_days: float | None = Field(30.0, gt=0, description="drop events older than this; none: keep by age")
    retention_max_events: int | None = Field(None, ge=1, description="keep at most this many events; none: no cap")
    trim_interval_s: float = Field(300.0, gt=0, le=86_400, description="how often each process applies retention")
    subscriber_queue: int = Field(
        1000, ge=1, le=1_000_000, description="events waiting for one subscriber before it is dropped as too slow"
    )
    tail_poll_s: float = Field(
        1.0, gt=0, le=300, description="how often live fan-out reads the log when no notification woke it"
    )


class Cache(BaseModel):
    """The ``[cache]`` table: the response cache for read queries (``gateway/cache.py``). Off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    ttl_s: float = Field(2.0, gt=0, le=3600, description="how long an answer is served from the cache")
    max_entries: int = Field(1000, ge=1, le=1_000_000, description="answers kept at most (least recently used out)")


class WebhookSettings(BaseModel):
    """The ``[webhooks]`` table: which webhook targets ``createWebhook``/``updateWebhook`` accept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_private_urls: bool = Field(
        False,
        description="accept targets on loopback, link-local, private, unique-local or unspecified addresses",
    )


class ExecutionSettings(BaseModel):
    """The ``[execution]`` table: how queries are executed (``gateway/execution/``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fast: bool = Field(True, description="the fast execution path; false runs stock graphql-core execution")


class CorsSettings(BaseModel):
    """The ``[cors]`` table: which browser origins may call the gateway (HTTP, Server-Sent Events) and open its
    WebSocket. None by default: same-origin only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_origins: tuple[str, ...] = Field(
        (), description='origins such as "https://app.example.com" (scheme, host and port; "*": any origin)'
    )
    allow_credentials: bool = Field(False, description="let browsers send cookies and read answers with them")
    max_age_s: int = Field(600, ge=0, le=86_400, description="how long a browser may cache a preflight's answer")

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        normalized = []
        for origin in origins:
            if origin == "*":
                normalized.append(origin)
                continue
            try:
                parts = urlsplit(origin)
                port = parts.port
            except ValueError:
                port, parts = None, None
            if (
                parts is None
                or parts.scheme not in ("http", "https")
                or not parts.hostname
                or parts.path not in ("", "/")
                or parts.query
                or parts.fragment
                or parts.username
            ):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], such as https://app.example.com"
                )
            default = {"http": 80, "https": 443}[parts.scheme]
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            normalized.append(f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else ""))
        return tuple(normalized)

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CorsSettings:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError(
                'allow_credentials = true needs the origins listed: "*" would let any site act as the user'
            )
        return self


class Settings(BaseSettings):
    """Everything the gateway is told. ``sources`` empty means: run the sandbox and one source of each kind."""

    model_config = SettingsConfigDict(
        env_prefix="HOOKGATE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    store: str = "sqlite:///hookgate.db"
    production: bool = False
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    api_keys: tuple[ApiKey, ...] = ()
    limits: Limits = Field(default_factory=Limits)
    events: Events = Field(default_factory=Events)
    cache: Cache = Field(default_factory=Cache)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)

    @field_validator("sources")
    @classmethod
    def _names(cls, sources: dict[str, Any]) -> dict[str, Any]:
        for name in sources:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"source name {name!r} may contain only letters, digits, '-' and '_'")
        return sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's content arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, naming the key. Input values are left out: they may be secrets."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        loc = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function-"))
        # Discriminated unions put the kind into the location ("sources.uipath.uipath.token"): drop it.
        parts = loc.split(".")
        if len(parts) >= 3 and parts[0] == "sources" and parts[2] in KITS:
            del parts[2]
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{'.'.join(parts) or '(top level)'}: {message}")
    return "\n".join(lines)


def load_settings(path: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read ``path`` (or ``HOOKGATE_CONFIG``) and the environment. Raises :class:`ConfigError` naming bad keys."""
    path = path or os.environ.get("HOOKGATE_CONFIG")
    data: dict[str, Any] = {}
    if path:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {file} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {file} is not valid TOML: {exc}") from None
    data.update(overrides or {})
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def sandbox_sources(sandbox_url: str) -> dict[str, dict[str, Any]]:
    """One source of each kind, named after the kind, pointed at a sandbox served at ``sandbox_url``."""
    base = sandbox_url.rstrip("/")
    return {kind: kit.sandbox(base) for kind, kit in KITS.items()}


def with_sandbox_sources(settings: Settings, sandbox_url: str) -> Settings:
    """The same settings with the embedded sandbox's sources (used when none are configured)."""
    data = settings.model_dump()
    data["sources"] = sandbox_sources(sandbox_url)
    if "allow_private_urls" not in settings.webhooks.model_fields_set:
        # The simulators deliver to loopback targets only (the gateway beside them): webhooks must be able to
        # point there, unless the configuration says otherwise.
        data["webhooks"]["allow_private_urls"] = True
    return Settings.model_validate(_unwrap_secrets(data))


def _unwrap_secrets(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_unwrap_secrets(v) for v in value]
    return value
