"""The gateway's state store: one :class:`Store` interface, a SQLite and a Redis implementation.

:func:`open_store` chooses by the ``store`` URL of the configuration:

- ``sqlite:///hookgate.db`` (a path relative to the working directory), ``sqlite:////var/lib/hookgate.db`` (an
  absolute path: four slashes, as in SQLAlchemy), ``sqlite:///:memory:`` (a private in-memory database, for tests).
  Option: ``?synchronous=full`` (default) or ``normal`` (see :mod:`gateway.store.sqlite` for the trade-off).
- ``redis://[[user]:password@]host:port/db``, ``rediss://...`` (TLS) or ``unix:///path/to/socket``. Options: the
  redis-py URL options (``max_connections``, ``socket_timeout``...), and ``prefix`` (default ``hookgate:``) to keep
  several gateways apart on one Redis.

Anything else is a ``ValueError`` naming the scheme; error messages never include the URL's password.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gateway.store.base import (
    AppendResult,
    IdempotencyState,
    IdempotencyStatus,
    InvalidCursor,
    LockTimeout,
    NewEvent,
    RawPayload,
    Store,
    StoredEvent,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "AppendResult",
    "IdempotencyState",
    "IdempotencyStatus",
    "InvalidCursor",
    "LockTimeout",
    "NewEvent",
    "RawPayload",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredEvent",
    "open_store",
    "redact_url",
]

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for logs and reprs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    if password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{user}:***@{host}" + (f":{port}" if port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def open_store(url: str) -> Store:
    """Open the store named by ``url`` (see the module docstring). Call it inside the event loop that will use the
    store; close the store with ``aclose()``."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        return await _open_sqlite(url)
    if scheme in _REDIS_SCHEMES:
        return _open_redis(url)
    shown = repr(scheme) if scheme else "none"
    raise ValueError(f"unsupported store URL scheme {shown}: expected sqlite:///PATH or redis://HOST:PORT/DB")


async def _open_sqlite(url: str) -> Store:
    from gateway.store.sqlite import SqliteStore, Synchronous

    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ValueError(
            "a sqlite store URL is sqlite:///RELATIVE/PATH, sqlite:////ABSOLUTE/PATH or sqlite:///:memory:"
        )
    # SQLAlchemy's convention: the third slash ends the (empty) authority, so "sqlite:///a.db" is "a.db".
    path = parts.path[1:]
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    sync = options.pop("synchronous", "full").upper()
    if sync not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError("sqlite store option synchronous must be full, normal or extra")
    if options:
        raise ValueError(f"unknown sqlite store option(s): {', '.join(sorted(options))}")
    synchronous: Synchronous = "FULL" if sync == "FULL" else "NORMAL" if sync == "NORMAL" else "EXTRA"
    return await SqliteStore.open(path, synchronous=synchronous)


def _open_redis(url: str) -> Store:
    from gateway.store.redis import DEFAULT_PREFIX, RedisStore

    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        raise ValueError(f"invalid redis store URL {redact_url(url)}") from None
    prefix = DEFAULT_PREFIX
    kept = []
    for name, value in query:
        if name == "prefix":
            prefix = value
        else:
            kept.append((name, value))
    client_url = urlunsplit(parts._replace(query=urlencode(kept)))
    try:
        return RedisStore.from_url(client_url, prefix=prefix, display=redact_url(client_url))
    except ValueError:
        # redis-py's own messages are safe, but the chained exception may carry parts of the URL: drop it.
        raise ValueError(f"invalid redis store URL {redact_url(url)}") from None
