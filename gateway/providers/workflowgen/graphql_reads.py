"""The WorkflowGen adapter's read side: requests and actions through WorkflowGen's GraphQL API.

``POST {base_url}/wfgen/graphql`` with Basic auth [likely] and ``x-wfgen-impersonate-username`` [likely]. Every
lookup of one batch is an alias in one document (``r0: request(number: 1) {...}``), so a page of N requests costs one
upstream call, not N. An error WorkflowGen pins on one alias (its ``path``) fails that key alone; NOT_FOUND on a null
alias is a missing key. Reads are retried. Lists: ``requests(page, filter)`` and ``actions(page, filter)`` [likely],
filter keys [stand-in].

:class:`GraphQLReads` is a part of :class:`~gateway.providers.workflowgen.adapter.WorkflowGenAdapter`, which sets
the attributes it declares.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import httpx
import orjson

from gateway.domain.records import (
    ME,
    ActionListFilter,
    RequestListFilter,
    WorkflowActionRecord,
    WorkflowPage,
    WorkflowRequestRecord,
)
from gateway.errors import BadUserInput, Forbidden, HookgateError, UpstreamError
from gateway.providers.http import UpstreamClient
from gateway.providers.workflowgen.answers import (
    ANSWERED,
    action_key_of,
    as_dict,
    as_int,
    as_str,
    loads_body,
    page_items,
    parse_action,
    parse_request,
    request_number_of,
)
from gateway.providers.workflowgen.config import WorkflowGenSource

GRAPHQL_PATH = "/wfgen/graphql"
IMPERSONATE_HEADER = "x-wfgen-impersonate-username"  # [likely]


# One fragment per type, so that a batch of N aliases stays a short document. Shapes [likely] per providers.md.
# Beyond them the reads rely on Request.process { name version }, Action.requestNumber, the root field
# action(requestNumber:, number:) and viewer [stand-in: what the simulator serves]. A real server's schema is at
# /wfgen/graphql/schema: check these there before pointing the gateway at a tenant; an unknown field fails the whole
# document (GraphQL validation), so a mismatch shows at once as UPSTREAM_ERROR, never as silently missing data.
ACTION_FIELDS = """fragment HookgateAction on Action {
  id number requestNumber name status openedAt closedAt assignee { id userName }
}"""
REQUEST_FIELDS = """fragment HookgateRequest on Request {
  id number description status openedAt closedAt
  process { name version }
  requester { id userName }
  actions { items { ...HookgateAction } }
  dataset { items { name textValue numericValue dateTimeValue
    fileValue { name contentType size description updatedAt } } }
}"""

#: WorkflowGen's page size for lists (its largest is not published [stand-in]: the sandbox allows 100), and the most
#: pages a list with a filter of the gateway's own reads.
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 50


class _Enum(str):
    """A GraphQL enum value in a literal: written bare."""


def _literal(value: Any) -> str:
    """``value`` as a GraphQL input literal: objects, strings (JSON-escaped), numbers, booleans, :class:`_Enum`."""
    if isinstance(value, _Enum):
        if not value.isidentifier():
            raise BadUserInput(f"'{value[:40]}' is not a status", field="status")
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(str(value)).decode()


#: A batch key: a request number, or (request number, action number).
K = TypeVar("K", bound=Hashable)


def _unique(keys: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(keys))


def _chunks(keys: list[Any], size: int) -> list[list[Any]]:
    return [keys[start : start + size] for start in range(0, len(keys), size)]


def _number(value: Any, what: str) -> int:
    """A key as an int. WorkflowGen numbers start at 1: a smaller one is simply missing, not an error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadUserInput(f"{what} must be an integer, not {type(value).__name__}", field=what)
    return value


class GraphQLReads:
    """Reads of one WorkflowGen server: requests and actions by number or global id, and their lists.

    ``get_requests`` and ``get_actions`` batch reads into one GraphQL document per ``max_batch`` keys.
    """

    kind: ClassVar[str]
    name: str
    config: WorkflowGenSource
    http: UpstreamClient
    _graphql_auth: httpx.Auth | None
    _graphql_headers: dict[str, str]

    def _ctx(self) -> dict[str, Any]:
        return {"source": self.name, "provider": self.kind}

    async def get_requests(self, numbers: Sequence[int]) -> list[WorkflowRequestRecord | HookgateError | None]:
        """Requests by number, in the keys' order: the record, None where missing, or the error of that key alone.

        Duplicates are fetched once; each ``max_batch`` distinct numbers are one aliased GraphQL document. A number
        WorkflowGen refuses (say, FORBIDDEN: not visible to the GraphQL user) fails only its own slot; a document
        that fails as a whole fails all of its numbers, and the call raises when every document failed.
        """
        keys = _unique([n for n in numbers if _number(n, "number") >= 1])
        answers = await self._batch(
            keys, self._request_selection, REQUEST_FIELDS + "\n" + ACTION_FIELDS, lambda n: f"request {n}"
        )
        found: dict[int, WorkflowRequestRecord | HookgateError | None] = {}
        for number, answer in answers:
            found[number] = answer if isinstance(answer, HookgateError) else parse_request(self.name, answer)
        return [found.get(n) for n in numbers]

    async def get_actions(self, keys: Sequence[tuple[int, int]]) -> list[WorkflowActionRecord | HookgateError | None]:
        """Actions by (request number, action number), in the keys' order: the record, None where missing, or the
        error of that key alone, as :meth:`get_requests`.

        One aliased ``action(requestNumber:, number:)`` per distinct key, ``max_batch`` keys per document.
        """
        unique = _unique([(r, n) for r, n in keys if _number(r, "requestNumber") >= 1 and _number(n, "number") >= 1])
        answers = await self._batch(
            unique, self._action_selection, ACTION_FIELDS, lambda k: f"action {k[1]} of request {k[0]}"
        )
        found: dict[tuple[int, int], WorkflowActionRecord | HookgateError | None] = {}
        for key, answer in answers:
            if isinstance(answer, HookgateError):
                found[key] = answer
                continue
            record = parse_action(self.name, answer, key[0])
            found[key] = record if record is not None and record.number == key[1] else None
        return [found.get((r, n)) for r, n in keys]

    async def get_requests_by_id(self, ids: Sequence[str]) -> list[WorkflowRequestRecord | HookgateError | None]:
        """Requests by WorkflowGen global id (``base64("Request:1")``), decoded locally [doc]; None for an id
        that names no request (malformed, or another type's). Slots as :meth:`get_requests`."""
        numbers = [request_number_of(i) for i in ids]
        wanted = [n for n in numbers if n is not None]
        answers = dict(zip(wanted, await self.get_requests(wanted), strict=True))
        return [answers[n] if n is not None else None for n in numbers]

    async def get_actions_by_id(self, ids: Sequence[str]) -> list[WorkflowActionRecord | HookgateError | None]:
        """Actions by WorkflowGen global id (``base64("Action:1---2")``), decoded locally [doc]. Slots as
        :meth:`get_actions`."""
        keys = [action_key_of(i) for i in ids]
        wanted = [k for k in keys if k is not None]
        answers = dict(zip(wanted, await self.get_actions(wanted), strict=True))
        return [answers[k] if k is not None else None for k in keys]

    # -- lists ----------------------------------------------------------------------------------------------------

    async def list_requests(self, filter: RequestListFilter, offset: int, limit: int) -> WorkflowPage:
        """``requests(page, filter)`` [likely]: status (one of them), processName, requesterUserName and createdSince
        are pushed down [stand-in: the filter's key names]; two statuses are every status; none matches nothing."""
        if filter.statuses is not None and not filter.statuses:
            return WorkflowPage(items=(), total=0, has_next=False)
        pushed: dict[str, Any] = {}
        if filter.statuses is not None and len(filter.statuses) == 1:
            pushed["status"] = _Enum(next(iter(filter.statuses)))
        if filter.process_name is not None:
            pushed["processName"] = filter.process_name
        if filter.requester is not None:
            pushed["requesterUserName"] = filter.requester
        if filter.created_since is not None:
            pushed["createdSince"] = filter.created_since.isoformat()
        page = await self._list("requests", pushed, "...HookgateRequest", REQUEST_FIELDS + "\n" + ACTION_FIELDS,
                                None, offset, limit)  # fmt: skip
        items = tuple(r for r in (parse_request(self.name, item) for item in page.items) if r is not None)
        return WorkflowPage(items=items, total=page.total, has_next=page.has_next)

    async def list_actions(self, filter: ActionListFilter, offset: int, limit: int) -> WorkflowPage:
        """``actions(page, filter)`` [likely]: status, assigneeUserName, requestNumber and createdSince pushed down
        [stand-in: the filter's key names]; the process name is filtered here, from each action's
        ``request { process { name } }``. ``assignee: "me"`` is the impersonated user (else the GraphQL user)."""
        if filter.statuses is not None and not filter.statuses:
            return WorkflowPage(items=(), total=0, has_next=False)
        pushed: dict[str, Any] = {}
        if filter.statuses is not None and len(filter.statuses) == 1:
            pushed["status"] = _Enum(next(iter(filter.statuses)))
        if filter.assignee is not None:
            pushed["assigneeUserName"] = await self._me() if filter.assignee == ME else filter.assignee
        if filter.request_number is not None:
            pushed["requestNumber"] = filter.request_number
        if filter.created_since is not None:
            pushed["createdSince"] = filter.created_since.isoformat()
        keep: Callable[[dict[str, Any]], bool] | None = None
        selection = "...HookgateAction"
        if filter.process_name is not None:
            wanted = filter.process_name
            selection += " request { number process { name } }"

            def keep(item: dict[str, Any]) -> bool:
                process = as_dict(as_dict(item.get("request")).get("process"))
                return process.get("name") == wanted

        page = await self._list("actions", pushed, selection, ACTION_FIELDS, keep, offset, limit)
        items = tuple(a for a in (parse_action(self.name, item) for item in page.items) if a is not None)
        return WorkflowPage(items=items, total=page.total, has_next=page.has_next)

    async def _me(self) -> str:
        """The user the gateway reads as: the impersonated user, else the GraphQL user, else WorkflowGen's viewer."""
        if self.config.impersonate_username:
            return self.config.impersonate_username
        if self.config.graphql_username:
            return self.config.graphql_username
        viewer = as_dict((await self._query("query HookgateViewer { viewer { userName } }")).get("viewer"))
        user_name = as_str(viewer.get("userName"))
        if user_name is None:
            raise UpstreamError(f"source '{self.name}' did not say who its GraphQL user is", **self._ctx())
        return user_name

    async def _list(
        self,
        field: str,
        pushed: Mapping[str, Any],
        selection: str,
        fragments: str,
        keep: Callable[[dict[str, Any]], bool] | None,
        offset: int,
        limit: int,
    ) -> WorkflowPage:
        """``limit`` raw items from ``offset`` on, over WorkflowGen's numbered pages of :data:`LIST_PAGE_SIZE`.

        All filters pushed down (``keep`` None): only the pages that hold the window are read, and WorkflowGen's
        ``totalCount`` is the total. With a filter of the gateway's own, every page is read (at most
        :data:`MAX_LIST_PAGES`) so that the total is right.
        """
        size = LIST_PAGE_SIZE
        filter_text = _literal(dict(pushed))
        number = 1 if keep is not None else offset // size + 1
        kept: list[dict[str, Any]] = []
        skip = 0 if keep is not None else offset - (number - 1) * size
        total = 0
        while True:
            arguments = f"page: {{number: {number}, size: {size}}}" + (f", filter: {filter_text}" if pushed else "")
            document = (
                f"query HookgateList {{ {field}({arguments}) {{ totalCount hasNextPage items {{ {selection} }} }} }}"
                f"\n{fragments}"
            )
            answer = as_dict((await self._query(document)).get(field))
            items = [item for item in page_items(answer) if isinstance(item, dict)]
            more = answer.get("hasNextPage") is True
            if keep is None:
                total = as_int(answer.get("totalCount")) or 0
                kept += items[skip:]
                skip = 0
                if len(kept) >= limit or not more:
                    window = kept[:limit]
                    return WorkflowPage(items=tuple(window), total=total, has_next=offset + len(window) < total)
            else:
                kept += [item for item in items if keep(item)]
                if not more or number >= MAX_LIST_PAGES:
                    window = kept[offset : offset + limit]
                    return WorkflowPage(items=tuple(window), total=len(kept), has_next=offset + len(window) < len(kept))
            number += 1

    @staticmethod
    def _request_selection(alias: str, number: int) -> str:
        return f"{alias}: request(number: {number}) {{ ...HookgateRequest }}"

    @staticmethod
    def _action_selection(alias: str, key: tuple[int, int]) -> str:
        return f"{alias}: action(requestNumber: {key[0]}, number: {key[1]}) {{ ...HookgateAction }}"

    async def _batch(
        self,
        keys: list[K],
        select: Callable[[str, K], str],
        fragments: str,
        label: Callable[[K], str],
    ) -> list[tuple[K, Any]]:
        """Per key: what its alias answered (the node, None where null, or the :class:`HookgateError` of that key).

        Chunks of ``max_batch`` keys are one document each and run at once. A chunk whose document failed as a whole
        (HTTP error, timeout, open circuit) gives its error to each of its keys, so the other chunks still count;
        when every chunk failed there is nothing to keep, and the first one's error is raised.
        """
        chunks = _chunks(keys, self.config.max_batch)

        async def one(chunk: list[K]) -> list[tuple[K, Any]]:
            aliases = {f"k{index}": key for index, key in enumerate(chunk)}
            selections = "\n  ".join(select(alias, key) for alias, key in aliases.items())
            document = f"query HookgateBatch {{\n  {selections}\n}}\n{fragments}"
            answers = await self._query_aliases(document, {alias: label(key) for alias, key in aliases.items()})
            return [(key, answers[alias]) for alias, key in aliases.items()]

        outcomes = await asyncio.gather(*(one(chunk) for chunk in chunks), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        for failure in failures:
            if not isinstance(failure, HookgateError):
                raise failure  # a bug or a cancellation: not an upstream answer to hand out per key
        if failures and len(failures) == len(outcomes):
            raise failures[0]
        answers: list[tuple[K, Any]] = []
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                answers += [(key, outcome) for key in chunk]
            else:
                answers += outcome
        return answers

    async def _read(self, document: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        """POST one read document; return the status, ``data`` and the error list. Raises when the answer as a whole
        failed: an HTTP error, a body that is not a GraphQL answer, or no ``data`` (the document never ran)."""
        response = await self.http.request(
            "POST",
            GRAPHQL_PATH,
            read=True,
            ok=ANSWERED,
            content=orjson.dumps({"query": document}),
            headers=self._graphql_headers,
            auth=self._graphql_auth,
        )
        body = loads_body(response)
        if not isinstance(body, dict):
            if response.status_code >= 300:
                raise self._read_error(response.status_code, [])
            self.http.decode(response)  # raises for a body that is not JSON
            raise UpstreamError(
                f"source '{self.name}' answered a GraphQL read with an unexpected body",
                status=response.status_code,
                **self._ctx(),
            )
        raw_data = body.get("data")
        raw_errors = body.get("errors")
        errors = [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
        if response.status_code >= 300 or not isinstance(raw_data, dict):
            raise self._read_error(response.status_code, errors)
        return response.status_code, raw_data, errors

    async def _query(self, document: str) -> dict[str, Any]:
        """Run one read document that is a single question (the probe); return ``data``. Any error fails it."""
        status, data, errors = await self._read(document)
        if errors:
            raise self._read_error(status, errors)
        return data

    async def _query_aliases(self, document: str, labels: Mapping[str, str]) -> dict[str, Any]:
        """Run one batch document; per alias of ``labels``: its node, None, or the error that failed that alias.

        GraphQL reports a field's failure in ``errors`` with a ``path`` whose first element is the alias, beside the
        other aliases' data (the GraphQL spec, "Errors" under "Response"), so an error is pinned on its alias:
        NOT_FOUND on a null alias is a missing key (None, as every by-id read answers); any other error fails that key
        alone, mapped as :meth:`_read_error` maps a whole answer's. An error that names no alias of ours (no path,
        say) may concern every key, so it fails the whole document. ``labels`` name each alias's key for the error
        message ("request 7").
        """
        status, data, errors = await self._read(document)
        pinned: dict[str, list[dict[str, Any]]] = {}
        for error in errors:
            path = error.get("path")
            alias = path[0] if isinstance(path, list) and path and isinstance(path[0], str) else None
            if alias is None or alias not in labels:
                raise self._read_error(status, [error])
            pinned.setdefault(alias, []).append(error)
        answers: dict[str, Any] = {}
        for alias, what in labels.items():
            node, failed = data.get(alias), pinned.get(alias)
            if not failed:
                answers[alias] = node
            elif node is None and all(_is_not_found(error) for error in failed):
                answers[alias] = None
            else:
                # Also when the alias has data: an error under it (a nested field) means the record is incomplete.
                answers[alias] = self._read_error(status, failed, what)
        return answers

    def _read_error(self, status: int, errors: list[dict[str, Any]], what: str | None = None) -> HookgateError:
        """The error tree's error for a failed read: of the whole document, or of one key (``what``: "request 7")."""
        message = "; ".join(str(e.get("message")) for e in errors if e.get("message")) or f"HTTP {status}"
        codes = {str((e.get("extensions") or {}).get("code") or "").upper() for e in errors}
        the_read = f"the read of {what}" if what else "the read"
        if status == 401 or "UNAUTHENTICATED" in codes:
            return UpstreamError(
                f"source '{self.name}' rejected the gateway's GraphQL credentials "
                f"(check graphql_username, graphql_password, impersonate_username): {message}",
                status=401,
                **self._ctx(),
            )
        if status == 403 or "FORBIDDEN" in codes:
            return Forbidden(f"source '{self.name}' refused {the_read}: {message}", **self._ctx())
        # A read document is the gateway's own: a GraphQL error in it is an upstream problem, not the caller's.
        return UpstreamError(
            f"source '{self.name}' could not answer {the_read}: {message}",
            status=status,
            **self._ctx(),
        )


def _is_not_found(error: Mapping[str, Any]) -> bool:
    """Does this GraphQL error say "no such object"? By its code when it has one (a FORBIDDEN whose text says
    "not found" is still a refusal), by its text otherwise."""
    extensions = error.get("extensions")
    code = str(extensions.get("code") or "") if isinstance(extensions, dict) else ""
    if code:
        return code.upper() == "NOT_FOUND"
    message = str(error.get("message") or "").lower()
    return "not found" in message or "does not exist" in message
