"""WorkflowGen's GraphQL API, read-only: ``POST /wfgen/graphql`` (graphql-core over the simulator's state).

Basic auth ``wfgen_admin`` / ``sandbox``, optional header ``x-wfgen-impersonate-username``. A request or action it
does not have, or that the viewer may not see, is that field's own error (NOT_FOUND, FORBIDDEN) beside the other
fields' data [stand-in].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, build_schema, graphql_sync
from starlette.requests import Request
from starlette.responses import Response

from sandbox.kit import (
    Handler,
    SimulatorError,
    basic_credentials,
    endpoint,
    iso_millis,
    json_response,
    parse_json,
    same_secret,
)
from sandbox.workflowgen.model import (
    GRAPHQL_PASSWORD,
    GRAPHQL_USERNAME,
    IMPERSONATE_HEADER,
    VALUE_KEYS,
    Action,
    DataValue,
    FileValue,
    Process,
    User,
    WfgError,
    WfRequest,
    action_key_of,
    bad_input,
    forbidden,
    not_found,
    request_number_of,
    to_global_id,
    user_number,
)
from sandbox.workflowgen.state import WorkflowGenState

# The shapes follow what real clients query [likely]; fields beyond them (subStatus, isTest, requestNumber, viewer,
# user, process) are stand-ins kept small and read-only.
SCHEMA = build_schema(
    """
    "ISO 8601 date-time in UTC."
    scalar DateTime

    enum RequestStatus { OPEN CLOSED }
    enum ActionStatus { OPEN CLOSED }
    enum DataType { TEXT NUMERIC DATETIME FILE }

    input PageInput { number: Int = 1, size: Int = 10 }
    input RequestFilterInput {
      status: RequestStatus, processName: String, requesterUserName: String, createdSince: DateTime
    }
    input ActionFilterInput {
      status: ActionStatus, assigneeUserName: String, requestNumber: Int, createdSince: DateTime
    }
    input DataFilterInput { names: [String!] }

    type Query {
      request(number: Int, id: ID): Request
      requests(page: PageInput, filter: RequestFilterInput): RequestPage!
      action(id: ID, requestNumber: Int, number: Int): Action
      actions(page: PageInput, filter: ActionFilterInput): ActionPage!
      process(name: String!, version: Int): Process
      user(userName: String, id: ID): User
      users(page: PageInput): UserPage!
      viewer: User!
    }

    type Process { id: ID!, name: String!, version: Int!, description: String }
    type User { id: ID!, userName: String!, isAdministrator: Boolean! }
    type UserPage { totalCount: Int!, hasNextPage: Boolean!, hasPreviousPage: Boolean!, items: [User!]! }

    type RequestPage { totalCount: Int!, hasNextPage: Boolean!, hasPreviousPage: Boolean!, items: [Request!]! }

    type Request {
      id: ID!
      number: Int!
      description: String
      status: RequestStatus!
      subStatus: String!
      isTest: Boolean!
      openedAt: DateTime!
      closedAt: DateTime
      process: Process!
      requester: User
      actions: ActionPage!
      dataset(filter: DataFilterInput): Dataset!
    }

    type ActionPage { totalCount: Int!, hasNextPage: Boolean!, hasPreviousPage: Boolean!, items: [Action!]! }

    type Action {
      id: ID!
      number: Int!
      requestNumber: Int!
      name: String!
      description: String
      status: ActionStatus!
      subStatus: String!
      openedAt: DateTime!
      closedAt: DateTime
      updatedAt: DateTime
      limit: DateTime
      assignee: User
      request: Request!
    }

    type Dataset { items: [Data!]! }
    type Data {
      id: ID!
      name: String!
      description: String
      dataType: DataType!
      textValue: String
      numericValue: Float
      dateTimeValue: DateTime
      fileValue: FileValue
    }
    type FileValue { name: String!, contentType: String, size: Int, description: String, updatedAt: DateTime }
    """
)

MAX_PAGE_SIZE = 100  # stand-in: WorkflowGen's real page-size limit is not published


def _gql_error(error: WfgError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


@dataclass
class GraphQLContext:
    state: WorkflowGenState
    viewer: User


def _ctx(info: GraphQLResolveInfo[GraphQLContext]) -> GraphQLContext:
    return info.context


def user_view(user: User) -> dict[str, Any]:
    return {"id": to_global_id("User", user.id), "userName": user.user_name, "isAdministrator": user.is_admin}


def process_view(process: Process) -> dict[str, Any]:
    return {
        "id": to_global_id("Process", process.id),
        "name": process.name,
        "version": process.version,
        "description": process.description,
    }


def data_view(request: WfRequest, value: DataValue) -> dict[str, Any]:
    view: dict[str, Any] = {
        # stand-in: the native part of a Data id is ours (the request number and the data name).
        "id": to_global_id("Data", f"{request.number}---{value.name}"),
        "name": value.name,
        "description": None,
        "dataType": value.data_type.value,
    }
    for data_type, key in VALUE_KEYS.items():
        view[key] = value.value if data_type is value.data_type else None
    if isinstance(value.value, FileValue):
        file = value.value
        view["fileValue"] = {
            "name": file.name,
            "contentType": file.content_type,
            "size": file.size,
            "description": file.description,
            "updatedAt": file.updated_at,
        }
    return view


def request_view(state: WorkflowGenState, request: WfRequest) -> dict[str, Any]:
    # Nested objects are callables so that graphql-core builds them only when the query selects them.
    return {
        "id": request.global_id,
        "number": request.number,
        "description": request.description,
        "status": request.status,
        "subStatus": request.sub_status,
        "isTest": request.is_test,
        "openedAt": iso_millis(request.opened_at),
        "closedAt": iso_millis(request.closed_at) if request.closed_at is not None else None,
        "process": lambda info: process_view(request.process),
        "requester": lambda info: user_view(state.user_by_id(request.requester_id)),
        "actions": lambda info: {
            "totalCount": len(request.actions),
            "hasNextPage": False,
            "hasPreviousPage": False,
            "items": [action_view(state, action) for action in request.actions],
        },
        "dataset": lambda info, filter=None: {
            "items": [
                data_view(request, value)
                for value in request.dataset.values()
                if not (filter or {}).get("names") or value.name in filter["names"]
            ]
        },
    }


def action_view(state: WorkflowGenState, action: Action) -> dict[str, Any]:
    assignee = state.users.get(action.assignee_id) if action.assignee_id is not None else None
    return {
        "id": action.global_id,
        "number": action.number,
        "requestNumber": action.request_number,
        "name": action.name,
        "description": action.definition.description or None,
        "status": action.status,
        "subStatus": action.sub_status,
        "openedAt": iso_millis(action.opened_at),
        "closedAt": iso_millis(action.closed_at) if action.closed_at is not None else None,
        "updatedAt": iso_millis(action.updated_at) if action.updated_at is not None else None,
        "limit": iso_millis(action.limit) if action.limit is not None else None,
        "assignee": user_view(assignee) if assignee is not None else None,
        "request": lambda info: request_view(state, state.request(action.request_number)),
    }


def _visible_request(ctx: GraphQLContext, number: int) -> WfRequest:
    """The request the viewer asked for, or the field error that answers it.

    stand-in: how WorkflowGen answers ``request(number:)`` for a number it does not have, or that the viewer may not
    see, is not published. A GraphQL server reports a field that cannot be resolved as that field null plus an entry
    in ``errors`` whose ``path`` names it (the GraphQL spec, "Errors" under "Response"), so each alias of a batched
    document fails on its own, beside the other aliases' data: here NOT_FOUND for an unknown number and FORBIDDEN
    for one the viewer may not see.
    """
    request = ctx.state.requests.get(number)
    if request is None:
        raise _gql_error(not_found(f"request {number} does not exist"))
    if not ctx.state.can_see(ctx.viewer, request):
        raise _gql_error(forbidden(f"Security error: {ctx.viewer.user_name!r} may not see request {number}"))
    return request


def _since(value: Any, field: str) -> float | None:
    """``createdSince`` as a timestamp: an ISO 8601 date-time, UTC without an offset [stand-in]."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise _gql_error(bad_input(f"{field}: createdSince {value!r} is not an ISO 8601 date-time")) from None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _page(field: str, page: dict[str, Any] | None, matches: list[Any], view: Any) -> dict[str, Any]:
    """WorkflowGen's page ``{totalCount hasNextPage hasPreviousPage items}`` of ``matches`` [likely]."""
    page = page or {}
    number, size = page.get("number", 1), page.get("size", 10)
    if number is None or number < 1:
        raise _gql_error(bad_input(f"{field}: page.number must be 1 or more"))
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        raise _gql_error(bad_input(f"{field}: page.size must be from 1 to {MAX_PAGE_SIZE}"))
    start = (number - 1) * size
    return {
        "totalCount": len(matches),
        "hasNextPage": start + size < len(matches),
        "hasPreviousPage": number > 1,
        "items": [view(item) for item in matches[start : start + size]],
    }


class QueryRoot:
    """Root resolvers; graphql-core's default resolver calls these methods with the field's arguments."""

    def request(
        self, info: GraphQLResolveInfo[GraphQLContext], number: int | None = None, id: str | None = None
    ) -> Any:
        ctx = _ctx(info)
        try:
            by_id = request_number_of(id, "id") if id is not None else None
        except WfgError as error:
            raise _gql_error(error) from None
        if number is not None and by_id is not None and number != by_id:
            raise _gql_error(bad_input("request: number and id name different requests"))
        chosen = number if number is not None else by_id
        if chosen is None:
            raise _gql_error(bad_input("request: number or id is required"))
        return request_view(ctx.state, _visible_request(ctx, chosen))

    def requests(
        self,
        info: GraphQLResolveInfo[GraphQLContext],
        page: dict[str, Any] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> Any:
        ctx = _ctx(info)
        filter = filter or {}
        status, process_name, requester = (
            filter.get("status"),
            filter.get("processName"),
            filter.get("requesterUserName"),
        )
        since = _since(filter.get("createdSince"), "requests")
        # stand-in: oldest first; WorkflowGen's default order is not published.
        matches = [
            request
            for request in sorted(ctx.state.requests.values(), key=lambda r: r.number)
            if ctx.state.can_see(ctx.viewer, request)
            and (status is None or request.status == status)
            and (process_name is None or request.process.name == process_name)
            and (requester is None or ctx.state.users[request.requester_id].user_name == requester)
            and (since is None or request.opened_at >= since)
        ]
        return _page("requests", page, matches, lambda request: request_view(ctx.state, request))

    def actions(
        self,
        info: GraphQLResolveInfo[GraphQLContext],
        page: dict[str, Any] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> Any:
        """[likely] ``actions(page, filter)`` as a production client reads it; the filter's keys are [stand-in]."""
        ctx = _ctx(info)
        filter = filter or {}
        status, assignee, request_number = (
            filter.get("status"),
            filter.get("assigneeUserName"),
            filter.get("requestNumber"),
        )
        since = _since(filter.get("createdSince"), "actions")
        assignee_id = None
        if assignee is not None:
            assignee_id = next((u.id for u in ctx.state.users.values() if u.user_name == assignee), -1)
        matches = [
            action
            for request in sorted(ctx.state.requests.values(), key=lambda r: r.number)
            if ctx.state.can_see(ctx.viewer, request) and (request_number is None or request.number == request_number)
            for action in request.actions
            if (status is None or action.status == status)
            and (assignee_id is None or action.assignee_id == assignee_id)
            and (since is None or action.opened_at >= since)
        ]
        return _page("actions", page, matches, lambda action: action_view(ctx.state, action))

    def users(self, info: GraphQLResolveInfo[GraphQLContext], page: dict[str, Any] | None = None) -> Any:
        """[likely] ``users(page)``: every user, by id."""
        users = sorted(_ctx(info).state.users.values(), key=lambda u: u.id)
        return _page("users", page, users, user_view)

    def action(
        self,
        info: GraphQLResolveInfo[GraphQLContext],
        id: str | None = None,
        requestNumber: int | None = None,
        number: int | None = None,
    ) -> Any:
        ctx = _ctx(info)
        try:
            by_id = action_key_of(id, "id") if id is not None else None
        except WfgError as error:
            raise _gql_error(error) from None
        if (requestNumber is None) != (number is None):
            raise _gql_error(bad_input("action: requestNumber and number go together"))
        key = (requestNumber, number) if requestNumber is not None and number is not None else None
        if key is not None and by_id is not None and key != by_id:
            raise _gql_error(bad_input("action: id and requestNumber/number name different actions"))
        chosen = key or by_id
        if chosen is None:
            raise _gql_error(bad_input("action: id, or requestNumber and number, are required"))
        request_number, action_number = chosen
        request = _visible_request(ctx, request_number)
        action = next((a for a in request.actions if a.number == action_number), None)
        if action is None:
            raise _gql_error(not_found(f"action {action_number} of request {request_number} does not exist"))
        return action_view(ctx.state, action)

    def process(self, info: GraphQLResolveInfo[GraphQLContext], name: str, version: int | None = None) -> Any:
        try:
            return process_view(_ctx(info).state.process(name, version))
        except WfgError:
            return None

    def user(self, info: GraphQLResolveInfo[GraphQLContext], userName: str | None = None, id: str | None = None) -> Any:
        state = _ctx(info).state
        try:
            if id is not None:
                user = state.user_by_id(user_number(id, "id"))
                return user_view(user) if userName is None or user.user_name == userName else None
            if userName is not None:
                return user_view(state.user_by_name(userName))
        except WfgError as error:
            if error.code == "NOT_FOUND":
                return None
            raise _gql_error(error) from None
        raise _gql_error(bad_input("user: userName or id is required"))

    def viewer(self, info: GraphQLResolveInfo[GraphQLContext]) -> Any:
        return user_view(_ctx(info).viewer)


class RequestError(SimulatorError):
    """A request that never executes: 400 and an error without extensions, as express-graphql answers."""

    def body(self) -> Any:
        return {"errors": [{"message": self.message}]}


def graphql_endpoint(state: WorkflowGenState) -> Handler:
    """``POST /wfgen/graphql`` over ``state``."""

    async def graphql_api(request: Request) -> Response:
        credentials = basic_credentials(request)
        if credentials is None or not (
            same_secret(credentials[0], GRAPHQL_USERNAME) and same_secret(credentials[1], GRAPHQL_PASSWORD)
        ):
            raise WfgError(
                "UNAUTHENTICATED", "Unauthorized", status=401, headers={"www-authenticate": 'Basic realm="WorkflowGen"'}
            )
        viewer = state.user_by_name(GRAPHQL_USERNAME)
        impersonate = request.headers.get(IMPERSONATE_HEADER)
        if impersonate:
            try:
                viewer = state.user_by_name(impersonate)
            except WfgError:
                # stand-in: an unknown impersonated user is refused like bad credentials.
                raise WfgError(
                    "UNAUTHENTICATED", f"impersonated user {impersonate!r} does not exist", status=401
                ) from None
        body = parse_json(await request.body(), lambda: RequestError("the body must be JSON"))
        query = body.get("query") if isinstance(body, dict) else None
        variables = body.get("variables") if isinstance(body, dict) else None
        operation_name = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query:
            raise RequestError("Must provide query string.")
        if variables is not None and not isinstance(variables, dict):
            raise RequestError("Variables must be an object.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestError("operationName must be a string.")
        result = graphql_sync(
            SCHEMA,
            query,
            root_value=QueryRoot(),
            context_value=GraphQLContext(state, viewer),
            variable_values=variables,
            operation_name=operation_name,
        )
        # Like express-graphql (WorkflowGen's GraphQL server runs on Node): a document that never executes
        # (syntax, validation, variable errors: none has a path) is a 400 without data; field errors ride along
        # with the data in a 200, even when one bubbled up to a null root.
        formatted = result.formatted
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            formatted.pop("data", None)
            return json_response(formatted, 400)
        return json_response(formatted)

    return endpoint(graphql_api)
