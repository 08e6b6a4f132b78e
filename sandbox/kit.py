"""The small kit every simulator is built from.

- Answers: :func:`json_response` (orjson, ``application/json``) and :func:`parse_json` for request bodies.
- Errors: :class:`SimulatorError` carries its HTTP status and the provider's error body; a handler wrapped by
  :func:`endpoint` raises it anywhere (the credential check included) and the client gets that status and body.
- Credentials: :func:`same_secret` (constant time), :func:`bearer_token`, :func:`basic_credentials`,
  :func:`authorization_is` (a bare key as the whole ``Authorization`` header).
- State: :class:`SimulatorState` resets to its seed and tells its listeners (the outbound deliveries) what changed.
- The app: :func:`simulator_app` puts the state at ``app.state.<name>``, registers it with ``control.on_reset`` and
  answers unrouted paths with the provider's error body.

A simulator is a module or package that fulfils :class:`Simulator`: ``create_app(control)`` and ``error_body(status)``
(the body of a status a fault injects). Call counting and fault injection sit in front of every simulator, in
``sandbox/control.py``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from sandbox.control import Control

Handler = Callable[[Request], Awaitable[Response]]
Listener = Callable[[str, dict[str, Any]], None]


class Simulator(Protocol):
    """What the combined sandbox needs of each simulator module or package."""

    def create_app(self, control: Control) -> Starlette: ...

    def error_body(self, status: int) -> Any: ...


# ---------------------------------------------------------------------------------------------------------------
# Answers and bodies
# ---------------------------------------------------------------------------------------------------------------


def json_bytes(body: Any) -> bytes:
    return orjson.dumps(body)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(body), status_code=status, media_type="application/json", headers=headers)


def parse_json(raw: bytes, error: Callable[[], Exception]) -> Any:
    """``raw`` decoded as JSON, or ``error()`` raised when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise error() from None


def is_http_url(url: str) -> bool:
    """An absolute ``http`` or ``https`` URL with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def iso_millis(timestamp: float) -> str:
    """``2023-03-09T10:41:39.523Z``: UTC, milliseconds (truncated) and a ``Z``."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------


class SimulatorError(Exception):
    """A refusal answered with :attr:`status` and :meth:`body`; subclasses give each provider's error shape."""

    status: int = 400

    def __init__(self, message: str = "", *, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers

    def body(self) -> Any:
        return {"message": self.message}

    def response(self) -> Response:
        return json_response(self.body(), self.status, self.headers)


def endpoint(handler: Handler, *, authorize: Callable[[Request], object] | None = None) -> Handler:
    """``handler`` behind ``authorize`` (which raises a :class:`SimulatorError` to refuse); any
    :class:`SimulatorError` either raises becomes its status and body."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            if authorize is not None:
                authorize(request)
            return await handler(request)
        except SimulatorError as error:
            return error.response()

    return run


# ---------------------------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------------------------


def same_secret(given: str, expected: str) -> bool:
    """Compare a credential in constant time."""
    return secrets.compare_digest(given.encode(), expected.encode())


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme in any case, token trimmed), or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """User and password of ``Authorization: Basic <base64>``, or None when absent or malformed."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def authorization_is(request: Request, *keys: str) -> bool:
    """The whole ``Authorization`` header is one of ``keys`` (a bare API key, no scheme)."""
    given = request.headers.get("authorization")
    # Every key is compared, so that the time taken does not tell which one was close.
    return given is not None and any([same_secret(given, key) for key in keys])


# ---------------------------------------------------------------------------------------------------------------
# State and the app
# ---------------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class SimulatorState:
    """A simulator's in-memory state: :meth:`reset` puts back its seed; listeners hear of every change.

    Listeners are wiring (the outbound deliveries), not state: they survive a reset.
    """

    listeners: list[Listener] = field(default_factory=list, kw_only=True, repr=False)

    def reset(self) -> None:
        raise NotImplementedError

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, data)`` after every change, e.g. ``("action.closed", {...})``."""
        self.listeners.append(listener)

    def emit(self, event: str, /, **data: Any) -> None:
        for listener in self.listeners:
            listener(event, data)


def simulator_app(
    name: str,
    state: SimulatorState,
    control: Control,
    routes: Sequence[BaseRoute],
    *,
    route_error: Callable[[int], Any] | None = None,
) -> Starlette:
    """One simulator's app: ``state`` at ``app.state.<name>``, put back to its seed by ``control.reset()``.

    With ``route_error``, a path no route matches (404) or a method a route does not allow (405) is answered with
    ``route_error(status)`` as JSON, the provider's own error body; without it, Starlette's plain answers stand.
    """
    control.on_reset(state.reset)
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {}
    if route_error is not None:
        answer = route_error

        async def unrouted(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 404
            return json_response(answer(status), status)

        handlers = {404: unrouted, 405: unrouted}
    app = Starlette(routes=list(routes), exception_handlers=handlers)
    setattr(app.state, name, state)
    return app
