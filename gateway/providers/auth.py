"""httpx auth flows for upstream credentials.

- :class:`HeaderAuth`: a fixed header, possibly chosen per request (Auco's public key for reads, private for writes).
- :class:`RefreshingTokenAuth`: a bearer token fetched on first use, shared by every concurrent call (single
  flight), refreshed ``skew_s`` before it expires, and on a 401 refreshed once and the request retried once (unless
  the request says :data:`NO_RETRY_ON_401`: then only refreshed for the next call). A failed
  fetch is shared too, for ``failure_cooldown_s``. Used by UiPath's client-credentials flow and DRUID's
  ExternalAuthenticate.

Tokens are secrets: they live only in these objects and in the request headers, never in a repr or a log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx

#: A function that fetches a new token: returns (token, lifetime in seconds).
TokenFetcher = Callable[[], Awaitable[tuple[str, float]]]

#: A request extension: ``{NO_RETRY_ON_401: True}`` keeps :class:`RefreshingTokenAuth` from sending the request
#: again after a 401, for a write whose provider does not promise that a refused request was not processed. The
#: token is still dropped, so the next call logs in afresh.
NO_RETRY_ON_401 = "hookgate.no_retry_on_401"


class HeaderAuth(httpx.Auth):
    def __init__(self, header: str, value: Callable[[httpx.Request], str]) -> None:
        self._header = header
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value(request)
        yield request

    def __repr__(self) -> str:
        return f"HeaderAuth({self._header!r}, <secret>)"


class RefreshingTokenAuth(httpx.Auth):
    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        scheme: str = "Bearer",
        skew_s: float = 60.0,
        failure_cooldown_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._scheme = scheme
        self._skew_s = skew_s
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many tokens were fetched: tests and metrics read it
        self._failure_cooldown_s = failure_cooldown_s
        self._failure: Exception | None = None  # how the last fetch failed, shared until _failed_until
        self._failed_until = 0.0

    def __repr__(self) -> str:
        return f"RefreshingTokenAuth(fetches={self.fetches})"

    def invalidate(self) -> None:
        self._token = None

    async def token(self, *, stale: str | None = None) -> str:
        """The current token; fetches one if there is none, it is near expiry, or it equals ``stale`` (a 401)."""
        if self._usable(stale):
            assert self._token is not None
            return self._token
        async with self._lock:
            # Another coroutine may have refreshed while this one waited: that is the single flight.
            if not self._usable(stale):
                if self._failure is not None and self._clock() < self._failed_until:
                    # ...or failed to: share that outcome for a moment instead of one login per waiting call
                    # (providers lock an account out after a few rejected logins). Then calls try again.
                    raise self._failure
                try:
                    token, lifetime = await self._fetch()
                except Exception as exc:
                    self._failure, self._failed_until = exc, self._clock() + self._failure_cooldown_s
                    raise
                self._failure = None
                self.fetches += 1
                self._token = token
                self._expires_at = self._clock() + max(lifetime - self._skew_s, lifetime / 2)
            assert self._token is not None
            return self._token

    def _usable(self, stale: str | None) -> bool:
        return self._token is not None and self._token != stale and self._clock() < self._expires_at

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"{self._scheme} {token}"
        response = yield request
        if response.status_code == 401:
            if request.extensions.get(NO_RETRY_ON_401):
                if self._token == token:
                    self._token = None  # the next call fetches a new one; this one goes back to the caller
                return
            # Revoked or expired early: refresh once and retry once. A second 401 goes back to the caller.
            await response.aread()
            token = await self.token(stale=token)
            request.headers["Authorization"] = f"{self._scheme} {token}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RefreshingTokenAuth works only with httpx.AsyncClient")
