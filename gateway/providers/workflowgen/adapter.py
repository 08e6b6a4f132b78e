"""The WorkflowGen adapter: operations through the incoming-webhook application, reads through GraphQL.

Wire formats: providers.md §2.

- Writes: ``POST {base_url}/wfgen/hooks/{hook_token}`` with ``{"operation": ..., "args": {"input": {...}}}`` [doc],
  answered by the payload in any of its shapes (:func:`read_answer`: createRequest's flat fields [doc], nested
  objects [stand-in], any casing of the operation's key), or by ``{"errors": [{"message", "extensions": {"code"}}]}``
  at 200 or 400 [stand-in]. Sent exactly once: a lost answer is not a reason to launch a second request, and a 2xx
  answer that cannot be read is a done write with warnings, never an error.
- Reads and lists: through GraphQL, in ``graphql_reads.py`` (:class:`GraphQLReads`). What answers, ids and records
  look like and how they are read: ``answers.py``.

The hook token is the application's only credential, a password in the URL. It never enters an ``httpx.Request``
that the client builds: hook calls go to ``/wfgen/hooks/-`` and :class:`HookTokenTransport` writes the token into the
copy of the request it hands to the network transport. httpx's INFO log line ("HTTP Request: POST .../hooks/-"), its
exceptions and ``response.request`` therefore only ever see the placeholder. Error messages are built from the source
name, the operation and WorkflowGen's own message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson

from gateway.domain.records import Capability, ProbeResult
from gateway.errors import BadUserInput, Forbidden, HookgateError, NotFound, UpstreamError
from gateway.providers.base import Adapter, probe_failure
from gateway.providers.http import UpstreamClient, UpstreamObserver, build_transport
from gateway.providers.workflowgen.answers import ANSWERED, JSON_HEADERS, as_str, folded, loads_body, read_answer
from gateway.providers.workflowgen.config import WorkflowGenSource
from gateway.providers.workflowgen.forms import FormError, with_form
from gateway.providers.workflowgen.graphql_reads import IMPERSONATE_HEADER, GraphQLReads

#: The seven operations of the incoming webhook application [doc].
OPERATIONS: frozenset[str] = frozenset(
    {
        "createRequest",
        "updateRequestDataset",
        "cancelRequest",
        "completeAction",
        "cancelAction",
        "assignAction",
        "cancelActionAssignment",
    }
)
HOOK_PREFIX = "/wfgen/hooks/"
#: What stands in the URL for the hook token until :class:`HookTokenTransport` sends the request.
HOOK_PLACEHOLDER = "-"


class HookTokenTransport(httpx.AsyncBaseTransport):
    """Puts the hook token into a hook call's URL on the way out, and nowhere else.

    The client addresses hook calls to ``/wfgen/hooks/-``; only the request copy given to the inner (network)
    transport carries the real token, so it never shows in httpx's logs, exceptions or ``response.request``.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, hook_token: str) -> None:
        self._inner = inner
        self._segment = quote(hook_token, safe="").encode()

    def __repr__(self) -> str:
        return "HookTokenTransport(<secret>)"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        placeholder = f"{HOOK_PREFIX}{HOOK_PLACEHOLDER}".encode()
        if request.url.raw_path.endswith(placeholder):
            raw_path = request.url.raw_path[: -len(HOOK_PLACEHOLDER)] + self._segment
            request = httpx.Request(
                request.method,
                request.url.copy_with(raw_path=raw_path),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class WorkflowGenAdapter(GraphQLReads, Adapter):
    """One WorkflowGen server: the :class:`~gateway.providers.base.Workflow` capability.

    ``run_operation`` sends one of :data:`OPERATIONS` through the incoming webhook application; the reads
    (``get_requests``, ``get_actions``, the lists) are :class:`GraphQLReads`, one GraphQL document per ``max_batch``
    keys.
    """

    kind = "workflowgen"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WORKFLOW, Capability.INBOUND_EVENTS})
    config: WorkflowGenSource

    def __init__(self, name: str, config: WorkflowGenSource, http: UpstreamClient) -> None:
        super().__init__(name, config, http)
        self._graphql_auth: httpx.Auth | None = None
        if config.graphql_username is not None:
            password = config.graphql_password.get_secret_value() if config.graphql_password else ""
            self._graphql_auth = httpx.BasicAuth(config.graphql_username, password)
        self._graphql_headers = dict(JSON_HEADERS)
        if config.impersonate_username:
            self._graphql_headers[IMPERSONATE_HEADER] = config.impersonate_username

    @classmethod
    def create(
        cls,
        name: str,
        config: WorkflowGenSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        **extras: Any,
    ) -> WorkflowGenAdapter:
        inner = transport or build_transport(config)
        wrapped = HookTokenTransport(inner, config.hook_token.get_secret_value())
        http = UpstreamClient(
            source=name, provider=cls.kind, config=config, transport=wrapped, observer=observer, on_write=on_write
        )
        return cls(name, config, http)

    # -- writes ---------------------------------------------------------------------------------------------------

    async def run_operation(self, operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
        """Run one operation of the incoming webhook application; return the payload under its key.

        ``input`` is the operation's ``args.input`` in WorkflowGen's field names (``processName``, ``parameters``,
        ``requestNumber``, ``onBehalfOfUserName``...); values may include ``datetime`` objects. Sent exactly once.
        completeAction also takes ``form`` (``{"table", "fields": [{"name", "value"}]}``): a web form's fields, sent
        as the ``FORM_DATA`` parameter (forms.py).
        WorkflowGen's refusals map by ``extensions.code``: FORBIDDEN → :class:`Forbidden`, NOT_FOUND →
        :class:`NotFound`, anything else → :class:`BadUserInput`, each quoting WorkflowGen's message.
        """
        if operation not in OPERATIONS:
            raise BadUserInput(
                f"'{operation}' is not a WorkflowGen operation; expected one of {', '.join(sorted(OPERATIONS))}",
                field="operation",
                **self._ctx(),
            )
        if not isinstance(input, Mapping):
            raise BadUserInput(f"{operation}: input must be an object", field="input", **self._ctx())
        if operation == "completeAction" and "form" in input:
            # [stand-in] A web form's fields go as the FILE parameter FORM_DATA (forms.py).
            try:
                input = with_form(input)
            except FormError as exc:
                raise BadUserInput(f"{operation}: {exc}", field=exc.field, **self._ctx()) from None
        envelope = {"operation": operation, "args": {"input": dict(input)}}
        response = await self.http.request(
            "POST",
            HOOK_PREFIX + HOOK_PLACEHOLDER,
            read=False,
            ok=ANSWERED,
            content=orjson.dumps(envelope),
            headers=JSON_HEADERS,
        )
        body = loads_body(response)
        errors = folded(body).get("errors")
        if isinstance(errors, list) and errors:
            raise self._operation_error(operation, errors, response.status_code)
        if response.status_code >= 300:
            raise self._hook_status_error(response)
        # A 2xx: the write is done. Whatever the answer's shape, it is read as far as it goes and never turned into an
        # error (a caller would retry, and create a second request): what is missing goes into the warnings.
        return read_answer(operation, body)

    def _operation_error(self, operation: str, errors: list[Any], status: int) -> HookgateError:
        messages = [str(e.get("message") or "") for e in errors if isinstance(e, dict)]
        message = "; ".join(m for m in messages if m) or "no message"
        first: dict[str, Any] = next((e for e in errors if isinstance(e, dict)), {})
        raw_extensions = first.get("extensions")
        extensions: dict[str, Any] = raw_extensions if isinstance(raw_extensions, dict) else {}
        code = str(extensions.get("code") or "").upper()
        text = f"{operation} on source '{self.name}' failed: {message}"
        if code == "FORBIDDEN":
            return Forbidden(text, **self._ctx())
        if code == "NOT_FOUND":
            return NotFound(text, **self._ctx())
        if code == "UNAUTHENTICATED" or status == 401:
            # The gateway's credential, not the caller's: a configuration problem, hence not UNAUTHENTICATED.
            return UpstreamError(
                f"source '{self.name}' rejected the gateway's hook token (check hook_token): {message}",
                status=status if status >= 400 else 401,
                **self._ctx(),
            )
        return BadUserInput(text, **self._ctx())

    def _hook_status_error(self, response: httpx.Response) -> HookgateError:
        status = response.status_code
        if status == 401:
            return UpstreamError(
                f"source '{self.name}' rejected the gateway's hook token (check hook_token)",
                status=status,
                **self._ctx(),
            )
        if status == 404:
            # Without WorkflowGen's error list a 404 means the URL, i.e. no application behind the hook token.
            return UpstreamError(
                f"source '{self.name}' has no incoming webhook application at the configured base_url and hook_token",
                status=status,
                **self._ctx(),
            )
        return self.http.error_for(response)

    # -- probe ----------------------------------------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        """One GraphQL read (``viewer``): is the server reachable and are the read credentials accepted?

        The hook token is not checked: the webhook application has no call without an effect.
        """
        try:
            data = await self._query("query HookgateProbe { viewer { userName } }")
        except HookgateError as exc:
            return probe_failure(exc)
        viewer = data.get("viewer")
        who = as_str(viewer.get("userName")) if isinstance(viewer, dict) else None
        detail = f"GraphQL reads as '{who}'" if who else "GraphQL reads work"
        return ProbeResult(reachable=True, authenticated=True, detail=f"{detail}; hook token not checked")
