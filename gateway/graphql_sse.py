"""GraphQL over Server-Sent Events: the graphql-sse protocol's "distinct connections mode", for frontends behind
proxies that drop WebSockets.

One operation per HTTP request, at ``/graphql/stream`` (``POST`` with a JSON body, or ``GET`` with ``query``,
``variables``, ``operationName`` and ``extensions`` in the query string, as ``EventSource`` can send it), or at
``/graphql`` for a request that accepts ``text/event-stream``. The answer is ``text/event-stream``: one ``next`` event
per result (its data the execution result, as JSON), then one ``complete`` event. A subscription streams until the
client closes the connection; a query or mutation sends its one result and completes.

Everything else is the gateway's as over HTTP and the WebSocket: the API key (``RequestGate`` checks the
``Authorization`` header before this runs: 401 otherwise), the schema's limits and scope checks, ``events(after:)``
replay with no gap, the broker's bound on a slow subscriber (``RATE_LIMITED`` with ``resumeAfter``), shaped errors.
As the protocol asks, what fails before execution (validation, limits, a missing scope, a body that is not JSON) is
a ``next`` event holding the errors, then ``complete``, on an accepted stream: a browser's ``EventSource`` would show
nothing of a 400. Mutations are refused over ``GET``. A comment line every :data:`KEEP_ALIVE_S` seconds keeps idle
proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson
from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

if TYPE_CHECKING:
    from gateway.app import HookgateGraphQL

log = logging.getLogger("hookgate.events")

EVENT_STREAM: Final = "text/event-stream"
#: Seconds between comment lines on a quiet stream (proxies commonly close a connection idle for 30 to 60 s).
KEEP_ALIVE_S: Final = 15.0
#: What ``scope["state"]["transport"]`` says for a request served here (gateway/limits.py lets subscriptions in).
TRANSPORT: Final = "sse"

_HEADERS: Final = {
    "cache-control": "no-cache",
    "x-accel-buffering": "no",  # nginx: pass each event on as it comes
}


def wants_event_stream(accept: str | None) -> bool:
    """Whether a request to ``/graphql`` asks for the SSE transport (its ``Accept`` names ``text/event-stream``)."""
    return accept is not None and EVENT_STREAM in accept.lower()


class _BadRequest(Exception):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


def _error_event(message: str, code: str) -> bytes:
    return _event("next", orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).decode())


async def _params(request: Request) -> dict[str, Any]:
    """The GraphQL-over-HTTP request parameters, from the query string (GET) or the JSON body (POST)."""
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if isinstance(params.get(name), str):
                try:
                    params[name] = orjson.loads(params[name])
                except orjson.JSONDecodeError:
                    raise _BadRequest(f"{name} is not valid JSON", name) from None
        return params
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise _BadRequest('the request body must be a JSON object such as {"query": ...}', "body") from None
    if not isinstance(body, dict):
        raise _BadRequest('the request body must be a JSON object such as {"query": ...}', "body")
    return body


def _checked(params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, operation_name = params.get("query"), params.get("variables"), params.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise _BadRequest("the request has no query", "query")
    if variables is not None and not isinstance(variables, dict):
        raise _BadRequest("variables must be a JSON object", "variables")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _BadRequest("operationName must be a string", "operationName")
    return query, variables, operation_name


def _is_mutation(query: str, operation_name: str | None) -> bool:
    """Whether the operation a GET would run is a mutation (a document that does not parse is the schema's to
    refuse, with its own error)."""
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return False
    return any(
        isinstance(d, OperationDefinitionNode)
        and d.operation is OperationType.MUTATION
        and (operation_name is None or (d.name is not None and d.name.value == operation_name))
        for d in document.definitions
    )


def _payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {} if isinstance(result, PreExecutionError) else {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


async def serve_event_stream(view: HookgateGraphQL, request: Request) -> Response:
    """Answer one graphql-sse request (module docstring)."""
    request.scope.setdefault("state", {})["transport"] = TRANSPORT
    context = await view.get_context(request, Response())
    try:
        query, variables, operation_name = _checked(await _params(request))
    except _BadRequest as exc:
        error = GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT", "field": exc.field})
        return _respond(_single({"errors": [error.formatted]}))
    except ClientDisconnect:
        return Response(status_code=408)
    if request.method == "GET" and _is_mutation(query, operation_name):
        error = GraphQLError(
            "mutations are not accepted over GET: send them with POST",
            extensions={"code": "BAD_USER_INPUT", "field": "query"},
        )
        return _respond(_single({"errors": [error.formatted]}))
    result_source = await view.schema.stream(
        query, variable_values=variables, context_value=context, operation_name=operation_name
    )
    return _respond(_frames(view, result_source))


def _respond(body: AsyncIterator[bytes]) -> Response:
    return StreamingResponse(body, media_type=EVENT_STREAM, headers=_HEADERS)


async def _single(payload: dict[str, Any]) -> AsyncIterator[bytes]:
    yield _event("next", orjson.dumps(payload).decode())
    yield _event("complete", "")


async def _frames(view: HookgateGraphQL, result_source: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """``next`` per result and ``complete`` at the end, with keep-alive comments while nothing comes.

    The results are read by a task of their own, so that waiting for the next one can time out (for the comment)
    without cancelling the stream; Starlette cancels this generator when the client goes away, which cancels that
    task and closes the stream (the ``events`` resolver leaves the broker and the subscribers gauge)."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async with aclosing(result_source):
                async for result in result_source:
                    if not isinstance(result, ExecutionResult):
                        await queue.put(_error_event("incremental delivery is not offered here", "BAD_USER_INPUT"))
                        break
                    await queue.put(_event("next", view.encode_json(_payload(result)).decode()))
        except Exception:
            log.exception("an operation over Server-Sent Events failed")
            await queue.put(_error_event("internal error", "INTERNAL"))
        await queue.put(None)  # not reached when cancelled: nobody reads the queue then

    task = asyncio.get_running_loop().create_task(pump(), name="hookgate-sse")
    try:
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
            except TimeoutError:
                yield b":\n\n"
                continue
            if frame is None:
                break
            yield frame
        yield _event("complete", "")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


__all__ = ["EVENT_STREAM", "TRANSPORT", "serve_event_stream", "wants_event_stream"]
