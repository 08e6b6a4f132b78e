"""``Idempotency-Key`` for mutations: the first answer is kept 24 h and replayed, and a write is sent at most once.

This module is the store-facing half: the key's rules, claims and their lease, waiting for another request with the
same key, and the stored answers as bytes. It knows nothing of GraphQL: ``resolvers/idempotency.py`` runs every
mutation resolver through :func:`run_keyed` (see ``resolvers/mutations.py``) and turns payloads into the JSON kept
here and back. Without the header a mutation simply runs: nothing is stored, and the gateway never retries a write
by itself. With the header:

- **Who and what.** The record is ``(scope, key)`` with scope = the API key's principal name, so two clients never
  see each other's answers. The request is identified by a fingerprint: sha256 of the mutation's name and the
  canonical JSON of its whole input (sorted keys, ``clientMutationId`` included, fields left out of an update
  omitted, explicit nulls kept). The key is 1 to 255 printable ASCII characters; otherwise ``BAD_USER_INPUT``
  naming ``Idempotency-Key``. One key covers one mutation field: a document selecting several mutation fields
  with a key is refused before any of them runs (a retry of such a document could not be matched field by field).
- **First request** (the store says STARTED): run the mutation, then store its answer for 24 h. The answer is the
  payload object itself, kept as tagged JSON whose types are named by their GraphQL names (``WebhookPayload``), and
  rebuilt on replay, so a repeat may select other fields of the payload than the first did. Nested fields that load
  something (``WorkflowAction.request``, ``Webhook.eventTypes``...) are reads and are resolved afresh.
- **Repeat with the same input** (COMPLETED): the stored answer, without any upstream call, and the response
  carries ``Idempotent-Replayed: true``. **While the first still runs** (IN_PROGRESS): wait for it up to
  :data:`WAIT_S` and answer what it answered; if it does not finish in time, ``BAD_USER_INPUT`` with
  ``reason: IDEMPOTENCY_KEY_IN_PROGRESS`` (retry later with the same key). **Same key, other input** (MISMATCH):
  ``BAD_USER_INPUT`` with ``reason: IDEMPOTENCY_KEY_REUSED``, naming ``Idempotency-Key``.

Failures of the first request, and the rule that a key never causes a second upstream write:

- A failure that **certainly changed nothing upstream releases the key**, so that the corrected request may be sent
  again with the same key: the gateway's own validation (``BAD_USER_INPUT``, ``CAPABILITY_UNSUPPORTED``,
  ``FORBIDDEN``...), the provider's refusals (its ``FORBIDDEN``, ``NOT_FOUND``, ``BAD_USER_INPUT``, any other 4xx,
  ``RATE_LIMITED``), and ``CIRCUIT_OPEN`` (no call was made).
- A failure whose **outcome is unknown is recorded and replayed like an answer**: ``UPSTREAM_TIMEOUT``,
  ``UPSTREAM_UNAVAILABLE`` (the request may have arrived before the connection broke), ``UPSTREAM_ERROR`` with a
  5xx or no status, ``INTERNAL``, and a request interrupted while its write was in flight. Repeats with that key get
  the same error (with ``replayed: true``) and no upstream call: the caller must look at the provider's state (e.g.
  the ``request`` query) and, if the write did not happen, send it under a new key. Releasing instead would let a
  retry write twice, which is exactly what the key exists to prevent.
- A claim whose owner died (process killed mid-write) lapses after a short lease, :func:`claim_lease_s`: twice the
  longest a mutation can run (:data:`MUTATION_CALLS` upstream calls of the slowest source's ``timeout_s``; 60 s with
  the defaults). A live owner has finished or failed by then, so only an orphaned claim lapses. A repeat waits for
  the owner up to the mutation's own deadline (at most :data:`WAIT_S`); still in progress after that, it gets
  ``IDEMPOTENCY_KEY_IN_PROGRESS`` with ``retryAfter``, the seconds after which the claim has surely lapsed, and a
  retry then runs the mutation. The owner's outcome is unknown, so that retry may write a second time: the price of
  not blocking the key for 24 h after a crash (check the provider's state first where a duplicate would hurt).
- If the store itself is unreachable when a keyed mutation starts, the mutation is not run (``UPSTREAM_UNAVAILABLE``
  naming the store): running it unrecorded could not honour the key. If storing the answer fails afterwards, the
  caller still gets the answer; the claim then stays in progress until its lease ends.

Stored answers and errors never hold secrets: payload types carry none (secrets are write-only), and error
messages follow the error tree's rule (no secrets, no upstream URLs).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson

from gateway.errors import (
    BadUserInput,
    CircuitOpen,
    Conflict,
    HookgateError,
    InternalError,
    RateLimited,
    UpstreamError,
    UpstreamFailure,
    UpstreamUnavailable,
)
from gateway.store.base import IdempotencyState, IdempotencyStatus, StoreError

log = logging.getLogger("hookgate.idempotency")

R = TypeVar("R")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "idempotent-replayed"
TTL_S = 86_400.0
#: How long a repeat waits for the first request with its key. The first is bounded by its source's ``timeout_s``
#: per upstream call (default 10 s; a WorkflowGen write and its read-back make two), so this covers the defaults.
WAIT_S = 30.0
#: Upstream calls one mutation may make in turn, each bounded by its source's ``timeout_s``: a write and its
#: read-back; Auco's read, write and read-back of the company's list.
MUTATION_CALLS = 3
MAX_KEY_LENGTH = 255
#: The stored answers' format. 2: types and enums named by their GraphQL names (``WebhookPayload``). Answers of
#: format 1 named them by Python module paths; they are not read back (they live 24 h at most): a repeat finding one
#: gets an INTERNAL error instead of a replay, and never a second write.
FORMAT_VERSION = 2


# -- the key and the fingerprint ------------------------------------------------------------------------------------


def mutation_deadline_s(settings: Any) -> float:
    """The longest one mutation can run: :data:`MUTATION_CALLS` calls of the slowest configured source."""
    timeouts = [source.timeout_s for source in settings.sources.values()]
    return MUTATION_CALLS * max(timeouts, default=10.0)


def claim_lease_s(settings: Any) -> float:
    """How long a claim whose owner never finishes (its process died mid-write) keeps its key: twice the deadline."""
    return 2 * mutation_deadline_s(settings)


def check_key(key: str) -> str:
    """``key`` if it is 1 to 255 printable ASCII characters; else BAD_USER_INPUT naming the header."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in key):
        raise BadUserInput(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (got {len(key)} characters)",
            field=HEADER,
        )
    return key


def fingerprint_of(name: str, plain_input: Any) -> str:
    """sha256 of the mutation's name and the canonical JSON of its input, given as plain JSON values."""
    canonical = orjson.dumps(plain_input, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(name.encode() + b"\n" + canonical).hexdigest()


# -- the stored answer ----------------------------------------------------------------------------------------------


def encode_answer(data: Any) -> bytes:
    """An answer as stored bytes: ``data`` is JSON (the resolver side's tagged form of the payload)."""
    return orjson.dumps({"v": FORMAT_VERSION, "data": data})


def encode_error(exc: BaseException) -> bytes:
    """A failure of unknown outcome as stored bytes: its message and extensions, replayed as the same error."""
    if isinstance(exc, HookgateError):
        error = {"message": exc.message, "extensions": exc.extensions}
    else:
        # A bug: its text may say anything, so only the code is kept, as the error extension masks it.
        error = {"message": "internal error", "extensions": {"code": "INTERNAL"}}
    return orjson.dumps({"v": FORMAT_VERSION, "error": error})


class ReplayedError(HookgateError):
    """The stored error of a first request whose outcome is unknown, raised again for a repeat."""

    def __init__(self, message: str, extensions: dict[str, Any]) -> None:
        super().__init__(message)
        self._stored = extensions

    @property
    def extensions(self) -> dict[str, Any]:
        return {**self._stored, "replayed": True}


@functools.cache
def _replayed_class(code: str) -> type[ReplayedError]:
    # ``code`` is a class attribute of the error tree: one small subclass per code keeps it so.
    return type(f"Replayed_{code}", (ReplayedError,), {"code": code})


def decode_answer(stored_bytes: bytes) -> Any:
    """The JSON a stored answer holds; raises the stored error for a recorded failure."""
    stored = orjson.loads(stored_bytes)
    if stored.get("v") != FORMAT_VERSION:
        # An answer of an older format (see FORMAT_VERSION): the write happened, but its answer cannot be rebuilt.
        raise InternalError(f"the answer stored for this {HEADER} cannot be replayed; use a new key")
    if "error" in stored:
        error = stored["error"]
        extensions = dict(error.get("extensions") or {})
        code = str(extensions.get("code") or "INTERNAL")
        raise _replayed_class(code)(str(error.get("message") or ""), extensions)
    return stored["data"]


# -- the rule -------------------------------------------------------------------------------------------------------


def changed_nothing(exc: BaseException) -> bool:
    """True when ``exc`` proves that no upstream state changed, so that the key may be released for a retry."""
    if isinstance(exc, UpstreamError):
        return exc.status is not None and 400 <= exc.status < 500
    if isinstance(exc, CircuitOpen | RateLimited):
        return True
    if isinstance(exc, UpstreamFailure | InternalError):
        return False  # timeout, unavailable, or a bug: the write may have happened
    # The gateway's validation and the provider's refusals (BAD_USER_INPUT, FORBIDDEN, NOT_FOUND, ...).
    return isinstance(exc, HookgateError)


async def run_keyed(
    store: Any,
    settings: Any,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    call: Callable[[], Awaitable[R]],
    encode: Callable[[R], bytes],
    replay: Callable[[bytes], R],
) -> R:
    """Run ``call`` at most once under ``(scope, key)``: claim the key, or replay (``replay`` of the stored bytes) what
    the first request with it answered, waiting for it while it runs. ``encode`` turns the answer into stored bytes
    (a TypeError there stores an INTERNAL error in its place)."""
    if store is None:
        raise InternalError("the idempotency store is not open")
    lease_s = claim_lease_s(settings)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + min(WAIT_S, mutation_deadline_s(settings))
    while True:
        state = await _store_call(store.idempotency_begin(scope, key, fingerprint, TTL_S, lease_s=lease_s))
        if state.status is IdempotencyStatus.STARTED:
            return await _first(store, scope, key, call, encode)
        if state.status is IdempotencyStatus.MISMATCH:
            raise _reused()
        if state.status is IdempotencyStatus.COMPLETED:
            assert state.response is not None
            return replay(state.response)
        # IN_PROGRESS: another request with this key is running; its answer is ours.
        remaining = deadline - loop.time()
        waited = await _store_call(store.idempotency_wait(scope, key, max(remaining, 0.0)))
        if waited is not None and waited.status is IdempotencyStatus.COMPLETED:
            assert waited.response is not None
            return replay(waited.response)
        if waited is not None or loop.time() >= deadline:
            # The owner claimed the key before this request began: its claim lapses within the lease from then.
            retry_after = max(1, math.ceil(lease_s - (loop.time() - started)))
            raise Conflict(
                f"a request with this {HEADER} is still in progress, or stopped before finishing: retry with the "
                f"same key in {retry_after} s, when an unfinished claim has lapsed",
                reason="IDEMPOTENCY_KEY_IN_PROGRESS",
                field=HEADER,
                retryAfter=retry_after,
            )
        # None: the first request was released (it changed nothing upstream): claim the key ourselves.


async def _first(store: Any, scope: str, key: str, call: Callable[[], Awaitable[R]], encode: Callable[[R], bytes]) -> R:
    """Run the mutation as the key's owner; then store its answer, or release or record its failure."""
    try:
        result = await call()
    except asyncio.CancelledError:
        # Interrupted mid-flight: the write may have gone out. Record that, shielded from the cancellation.
        interrupted = UpstreamUnavailable(
            f"the first request with this {HEADER} was interrupted; its outcome is unknown"
        )
        finish = asyncio.ensure_future(_finish(store, scope, key, encode_error(interrupted)))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(finish)
        raise
    except Exception as exc:
        if changed_nothing(exc):
            await _release(store, scope, key)
        else:
            await _finish(store, scope, key, encode_error(exc))
        raise
    try:
        answer = encode(result)
    except TypeError:
        log.exception("a mutation answer could not be kept for replay")
        answer = encode_error(InternalError("the mutation ran, but its answer could not be kept for replay"))
    await _finish(store, scope, key, answer)
    return result


async def _finish(store: Any, scope: str, key: str, answer: bytes) -> None:
    try:
        if not await store.idempotency_complete(scope, key, answer):
            log.warning("an idempotency record expired before its answer was stored")
    except StoreError as exc:
        # The caller still gets the answer; repeats see the claim in progress until its lease ends.
        log.warning("storing an idempotent answer failed: %r", exc)


async def _release(store: Any, scope: str, key: str) -> None:
    try:
        await store.idempotency_release(scope, key)
    except StoreError as exc:
        log.warning("releasing an idempotency key failed: %r", exc)


async def _store_call(call: Awaitable[IdempotencyState | None]) -> Any:
    try:
        return await call
    except StoreError as exc:
        raise UpstreamUnavailable(
            f"the state store behind {HEADER} is unavailable: the mutation was not run; retry later"
        ) from exc


def _reused() -> Conflict:
    return Conflict(
        f"this {HEADER} was already used for a different request (another mutation or input); use a new key",
        reason="IDEMPOTENCY_KEY_REUSED",
        field=HEADER,
    )
