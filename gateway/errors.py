"""The error tree, and how each error reaches a GraphQL client.

Every error a client sees carries ``extensions.code`` from one fixed list, plus ``source`` and ``provider`` where a
backend is involved::

    HookgateError                      (abstract; never raised itself)
    ├── BadUserInput                   BAD_USER_INPUT: the request names something wrong (field, value, source)
    ├── Unauthenticated                UNAUTHENTICATED: no or unknown API key
    ├── Forbidden                      FORBIDDEN: the key lacks the scope, or the provider refused the identity
    ├── NotFound                       NOT_FOUND: the object does not exist (by-id reads answer null instead)
    ├── CapabilityUnsupported          CAPABILITY_UNSUPPORTED: the source cannot do this at all
    ├── Conflict                       BAD_USER_INPUT with ``reason``: an Idempotency-Key reused for another request
    ├── UpstreamFailure                (abstract) the backend did not give a usable answer
    │   ├── UpstreamError              UPSTREAM_ERROR: the backend answered with an error status (``status``)
    │   ├── UpstreamUnavailable        UPSTREAM_UNAVAILABLE: connection refused/reset, or an unreadable answer
    │   ├── UpstreamTimeout            UPSTREAM_TIMEOUT: no answer within the source's ``timeout_s``
    │   ├── CircuitOpen                CIRCUIT_OPEN: the breaker is open; no call was made
    │   └── RateLimited                RATE_LIMITED: the backend said 429 (``retry_after`` when it said so)
    └── InternalError                  INTERNAL: a bug; the message is masked for clients

graphql-core copies an exception's ``extensions`` attribute onto the GraphQL error it wraps it in, so raising any of
these from a resolver is all a resolver does. Messages never contain secrets or upstream URLs: adapters build them
from the source name and the backend's own error text only.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HookgateError(Exception):
    """Base of every error the gateway means a client to see."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        provider: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.provider = provider
        self.details = {k: v for k, v in details.items() if v is not None}

    @property
    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.source is not None:
            ext["source"] = self.source
        if self.provider is not None:
            ext["provider"] = self.provider.upper()
        ext.update(self.details)
        return ext

    def __str__(self) -> str:
        return self.message


class BadUserInput(HookgateError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, field=field, **kw)


class Unauthenticated(HookgateError):
    code = "UNAUTHENTICATED"


class Forbidden(HookgateError):
    code = "FORBIDDEN"


class NotFound(HookgateError):
    code = "NOT_FOUND"


class CapabilityUnsupported(HookgateError):
    code = "CAPABILITY_UNSUPPORTED"


class Conflict(HookgateError):
    """A request clashes with an earlier one. The fixed code list has no conflict code, so it is a user error."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, reason: str, **kw: Any) -> None:
        super().__init__(message, reason=reason, **kw)


class UpstreamFailure(HookgateError):
    """A backend gave no usable answer. Which ones a read retries is decided in ``providers/http.py``."""

    code = "UPSTREAM_ERROR"


class UpstreamError(UpstreamFailure):
    code = "UPSTREAM_ERROR"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None, **kw: Any) -> None:
        # A 503 may say when to come back (RFC 9110 Retry-After), as a 429 does.
        super().__init__(message, status=status, retryAfter=retry_after, **kw)
        self.status = status
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamFailure):
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(UpstreamFailure):
    code = "UPSTREAM_TIMEOUT"


class CircuitOpen(UpstreamFailure):
    code = "CIRCUIT_OPEN"


class RateLimited(UpstreamFailure):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, retryAfter=retry_after, **kw)
        self.retry_after = retry_after


class InternalError(HookgateError):
    code = "INTERNAL"


ERROR_CODES: tuple[str, ...] = (
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CAPABILITY_UNSUPPORTED",
    "UPSTREAM_ERROR",
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_TIMEOUT",
    "CIRCUIT_OPEN",
    "RATE_LIMITED",
    "INTERNAL",
)
