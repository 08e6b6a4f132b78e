"""The one way adapters talk HTTP: a pooled client per source with its limits, breaker, retries and error mapping.

Every upstream call goes through :meth:`UpstreamClient.request`, which, in this order:

1. refuses at once with ``CircuitOpen`` while the source's breaker is open (no call is made);
2. bounds the whole call, waiting for a slot and retries included, by the source's ``timeout_s``;
3. waits for one of the source's ``max_concurrency`` slots, so that one hung backend cannot take the others';
4. retries *reads only* on connect errors, 429 and 5xx, with jittered exponential backoff (stamina) that honours
   ``Retry-After`` and never sleeps past the deadline. Writes are sent exactly once;
5. maps httpx exceptions and non-2xx answers to the error tree of ``gateway/errors.py``, chaining the original,
   so that nothing from httpx reaches a resolver.

Error messages name the source and quote the provider's own error text; never a URL (a WorkflowGen hook URL carries
a password-equivalent token) and never a header.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
import orjson
import stamina
from httpx_aiohttp import AiohttpTransport

from gateway.errors import (
    BadUserInput,
    CircuitOpen,
    Forbidden,
    HookgateError,
    NotFound,
    RateLimited,
    UpstreamError,
    UpstreamFailure,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.providers.breaker import CircuitBreaker
from gateway.providers.source import SourceBase

T = TypeVar("T")
ErrorText = Callable[[httpx.Response], str | None]
#: An adapter's own reading of an error answer (e.g. WorkflowGen's ``errors[0].extensions.code``); None: the default.
Classify = Callable[[httpx.Response], HookgateError | None]

#: Statuses a read retries on, besides connection failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class UpstreamObserver(Protocol):
    """Told of every :meth:`UpstreamClient.request`; given to each client at construction (the runtime's metrics).

    ``outcome`` is ``ok``, an error code (``CIRCUIT_OPEN``: refused without a call) or ``aborted`` (cancelled, or a
    bug). It must not raise.
    """

    def upstream_call(self, source: str, provider: str, method: str, outcome: str, seconds: float) -> None: ...


def default_error_text(response: httpx.Response) -> str | None:
    """The provider's own message from the usual error bodies: ``message``, ``error.message``, ``errors[0]``."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("message"), str):
        return str(body["message"])
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", "")) or None
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def build_transport(config: SourceBase) -> httpx.AsyncBaseTransport:
    """httpx's API over aiohttp's connection pool: several times faster than httpx's own pool under concurrency."""
    limits = httpx.Limits(
        max_connections=max(config.max_concurrency, 1),
        max_keepalive_connections=max(config.max_concurrency, 1),
    )
    return AiohttpTransport(limits=limits)


class _Cookies(httpx.Cookies):
    """httpx's cookie store, which skips the extraction when an answer sets no cookie.

    httpx extracts cookies from every response through the standard library's cookie jar, and builds a urllib request
    and response wrapper for it each time (about a sixth of httpx's own cost per call over recorded answers); the jar
    finds nothing to do without a ``Set-Cookie`` or ``Set-Cookie2`` header, so skipping it then changes nothing.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


#: Absolute URLs an UpstreamClient keeps per client (bounded: a source sees few distinct paths between clears).
_MAX_URLS = 256
#: Decoded answers an UpstreamClient keeps per client (each holds the answer's bytes, so fewer).
_MAX_DECODED = 32


class UpstreamClient:
    """One source's HTTP client. Adapters own one each; the app's lifespan opens and closes them."""

    def __init__(
        self,
        *,
        source: str,
        provider: str,
        config: SourceBase,
        base_url: str | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        error_text: ErrorText = default_error_text,
        classify: Classify | None = None,
        breaker: CircuitBreaker | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self.provider = provider
        self.config = config
        self.error_text = error_text
        self.classify = classify
        self.breaker = breaker or CircuitBreaker(config.breaker_failures, config.breaker_reset_s)
        self._slots = asyncio.Semaphore(config.max_concurrency)
        #: Told of every call (the runtime's metrics); None records nothing.
        self.observer = observer
        #: Called with the source name after every write (``read=False``), succeeded or not, since a failed write may
        #: still have changed something: the runtime gives ``Runtime.invalidate_source`` (caches across requests).
        self.on_write = on_write
        self.http = httpx.AsyncClient(
            base_url=base_url if base_url is not None else config.base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            transport=transport or build_transport(config),
            follow_redirects=False,
        )
        # The client's cookies are its only public store of them; replacing the object keeps every cookie behaviour
        # (none is set here) while making the common answer without cookies cheap (see _Cookies).
        self.http._cookies = _Cookies(self.http.cookies)
        self._urls: dict[str, httpx.URL] = {}
        self._decoded: dict[str, tuple[bytes, Callable[[Any], Any], Any]] = {}
        self._urls_base = self.http.base_url

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- errors ---------------------------------------------------------------------------------------------------

    def _ctx(self) -> dict[str, Any]:
        return {"source": self.source, "provider": self.provider}

    @contextlib.contextmanager
    def map_transport_errors(self) -> Iterator[None]:
        """httpx exceptions → the error tree (PRACTICES: translate foreign errors at the boundary)."""
        try:
            yield
        except httpx.TransportError as exc:
            raise self.transport_error(exc) from exc

    def transport_error(self, exc: httpx.TransportError) -> HookgateError:
        """What an httpx transport failure means: a timeout, or (refused, reset, DNS...) an unreachable source."""
        if isinstance(exc, httpx.TimeoutException) and not _refused(exc):
            return UpstreamTimeout(f"source '{self.source}' did not answer in time", **self._ctx())
        return UpstreamUnavailable(f"source '{self.source}' is unreachable", **self._ctx())

    def error_for(self, response: httpx.Response) -> HookgateError:
        """The error a non-2xx answer means. 404 is NOT_FOUND; by-id reads turn it into null themselves."""
        if self.classify is not None:
            special = self.classify(response)
            if special is not None:
                return special
        status = response.status_code
        text = self.error_text(response)
        said = f": {text}" if text else ""
        ctx = self._ctx()
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return RateLimited(
                f"source '{self.source}' is rate limiting the gateway{said}", retry_after=retry_after, **ctx
            )
        if status == 404:
            return NotFound(f"source '{self.source}' has no such object{said}", status=status, **ctx)
        if status in (400, 409, 422):
            return BadUserInput(f"source '{self.source}' rejected the request{said}", status=status, **ctx)
        if status == 403:
            return Forbidden(f"source '{self.source}' refused the operation{said}", status=status, **ctx)
        retry_after = parse_retry_after(response.headers.get("retry-after")) if status >= 500 else None
        return UpstreamError(
            f"source '{self.source}' answered HTTP {status}{said}", status=status, retry_after=retry_after, **ctx
        )

    # -- calls ----------------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        read: bool,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one logical request and return a 2xx (or ``ok``) response; raise from the error tree otherwise.

        ``read=True`` marks a call safe to repeat: only those are retried. Retries and waiting for a slot all fall
        within ``timeout_s``.
        """
        if not self.breaker.allow():
            if self.observer is not None:
                self.observer.upstream_call(self.source, self.provider, method, CircuitOpen.code, 0.0)
            raise CircuitOpen(f"source '{self.source}' is failing; its circuit is open", **self._ctx())
        started = time.monotonic()
        deadline = started + self.config.timeout_s
        verdict: bool | None = None  # True: backend healthy, False: backend failed, None: no verdict
        outcome = "aborted"  # for the observer: "ok" or the error's code once known
        try:
            async with asyncio.timeout(self.config.timeout_s):
                response = await self._send(method, url, read=read, ok=ok, deadline=deadline, **kwargs)
            verdict, outcome = True, "ok"
            return response
        except TimeoutError as exc:
            verdict, outcome = False, UpstreamTimeout.code
            raise UpstreamTimeout(f"source '{self.source}' did not answer in time", **self._ctx()) from exc
        except UpstreamFailure as exc:
            verdict, outcome = not _counts_against_backend(exc), exc.code
            raise
        except HookgateError as exc:
            verdict, outcome = True, exc.code  # a 4xx: the backend works
            raise
        finally:
            if verdict is True:
                self.breaker.record_success()
            elif verdict is False:
                self.breaker.record_failure()
            else:
                self.breaker.release_trial()
            if self.observer is not None:
                self.observer.upstream_call(self.source, self.provider, method, outcome, time.monotonic() - started)
            if not read and self.on_write is not None:
                self.on_write(self.source)

    async def _send(
        self, method: str, url: str, *, read: bool, ok: tuple[int, ...], deadline: float, **kwargs: Any
    ) -> httpx.Response:
        async with self._slots:
            if not read or self.config.retries == 0:
                return await self._once(method, url, ok, **kwargs)
            # The first attempt is made outside stamina: its retry context builds tenacity's machinery on entry (about
            # 40% of what this class adds to an upstream call, httpx aside, when nothing fails). A failure is then
            # replayed as stamina's first attempt, so that the schedule, the attempt count, the hooks and the log are
            # as if stamina had made it.
            try:
                return await self._once(method, url, ok, **kwargs)
            except Exception as exc:
                if not _retryable(exc):
                    raise  # what backoff() would answer: no retry
                first_failure: Exception | None = exc

            def backoff(exc: Exception) -> bool | float:
                if not _retryable(exc):
                    return False
                remaining = deadline - time.monotonic()
                if isinstance(exc, RateLimited | UpstreamError) and exc.retry_after is not None:
                    # Honour Retry-After, but never sleep past the deadline: fail now instead.
                    return exc.retry_after if exc.retry_after < remaining else False
                return remaining > 0.05

            async for attempt in stamina.retry_context(
                on=backoff,
                attempts=self.config.retries + 1,
                # The same absolute limit as a context entered before the first attempt (never 0: stamina warns).
                timeout=max(deadline - time.monotonic(), 0.001),
                wait_initial=0.05,
                wait_max=2.0,
                wait_jitter=0.1,
            ):
                with attempt:
                    if first_failure is not None:
                        failure, first_failure = first_failure, None
                        raise failure
                    return await self._once(method, url, ok, **kwargs)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def absolute_url(self, url: str) -> httpx.URL:
        """``url`` joined to the client's base URL exactly as httpx joins it, remembered per client.

        httpx parses and re-quotes a relative URL and its join with the base URL in pure Python on every request
        (about a fifth of its own cost per call); an absolute ``httpx.URL`` passes through unchanged, so the join is
        done once per distinct URL. The base URL is checked, so that a client whose base URL changed never gets a
        stale join.
        """
        base = self.http.base_url
        if base is not self._urls_base:
            self._urls.clear()
            self._urls_base = base
        found = self._urls.get(url)
        if found is None:
            if len(self._urls) >= _MAX_URLS:
                self._urls.clear()
            found = self._urls[url] = self.http.build_request("GET", url).url
        return found

    async def _once(self, method: str, url: str, ok: tuple[int, ...], **kwargs: Any) -> httpx.Response:
        # map_transport_errors() written out: a generator-based context manager per call costs more than the rest of
        # this method.
        try:
            response = await self.http.request(method, self.absolute_url(url), **kwargs)
        except httpx.TransportError as exc:
            raise self.transport_error(exc) from exc
        if response.status_code in ok:
            return response
        raise self.error_for(response)

    async def json(self, method: str, url: str, *, read: bool, **kwargs: Any) -> Any:
        """:meth:`request`, then the body as JSON; an unreadable body is UPSTREAM_ERROR, not a crash."""
        response = await self.request(method, url, read=read, **kwargs)
        return self.decode(response)

    def decode_once(self, key: str, response: httpx.Response, parse: Callable[[Any], T]) -> T:
        """``parse(self.decode(response))``, reused while ``key`` (the URL) answers the same bytes.

        A dashboard reads the same unchanged lists on every request; comparing the bytes (a memcmp) is far cheaper
        than decoding the JSON and making the records again. ``parse`` must be a pure function of the body that
        returns an immutable value (frozen records in tuples), since the value is shared by the requests that read
        the same answer; whatever it raises is raised again on every call (nothing is kept then).
        """
        content = response.content
        kept = self._decoded.get(key)
        if kept is not None and kept[1] == parse and kept[0] == content:
            return cast("T", kept[2])
        value = parse(self.decode(response))
        if len(self._decoded) >= _MAX_DECODED:
            self._decoded.clear()
        self._decoded[key] = (content, parse, value)
        return value

    def decode(self, response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(
                f"source '{self.source}' answered with a body that is not JSON",
                status=response.status_code,
                **self._ctx(),
            ) from exc

    @contextlib.asynccontextmanager
    async def stream(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A raw streamed call with error mapping only (no retries, no breaker): for probes and tools."""
        with self.map_transport_errors():
            async with self.http.stream(method, url, **kwargs) as response:
                yield response


#: A guard against a server whose next-page links never end; far above any real list.
MAX_PAGES = 1000


def next_page(base_url: str, link: str, seen: set[str], unexpected: Callable[[str], Exception]) -> str:
    """A next-page ``link`` from an answer, resolved against the source's ``base_url``, as the URL to request.

    The source's credentials go wherever the link points, so a link to another origin (scheme and host) is refused,
    as is a link already followed or one past :data:`MAX_PAGES`: ``unexpected(what)`` makes the error to raise.
    ``seen`` holds the links followed so far in this listing.
    """
    resolved = urljoin(f"{base_url}/", link)
    if _origin(resolved) != _origin(base_url):
        raise unexpected("a next-page link to another host")
    if resolved in seen or len(seen) >= MAX_PAGES:
        raise unexpected("next-page links that never end")
    seen.add(resolved)
    return resolved


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _refused(exc: httpx.TimeoutException) -> bool:
    """httpx-aiohttp reports a refused connection as ConnectTimeout; its cause tells the two apart."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(cause, aiohttp.ServerTimeoutError)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, UpstreamError):
        return exc.status in RETRY_STATUSES
    return isinstance(exc, UpstreamUnavailable | RateLimited)


def _counts_against_backend(exc: UpstreamFailure) -> bool:
    if isinstance(exc, UpstreamError):
        return exc.status is None or exc.status >= 500
    return not isinstance(exc, CircuitOpen | RateLimited)
