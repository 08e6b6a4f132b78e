"""GraphQL limits checked once the request is known, as schema extensions that run after validation and before
execution: list variables (:class:`VariableCost`), one operation, no subscription over HTTP (:class:`RequestShape`).

The document limits (depth, aliases, cost, directives) are validation rules in ``gateway/limits.py``; validation sees
no variables, so there a list given as a variable counts as :data:`~gateway.limits.LIST_FACTOR` items. Once the
request's variables are known, :class:`VariableCost` estimates again the operations that declare a variable holding a
list, with the lengths their values coerce to, before any resolver runs: a list variable counts exactly as the same
list written in the document would. :func:`limit_extensions` is what ``schema/schema.py`` adds to the default build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    ValueNode,
    type_from_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.config import Limits
from gateway.limits import CostEstimator, ListCount, cost_error


def _holds_list(type_: GraphQLInputType, seen: set[str] | None = None) -> bool:
    """Whether a value of ``type_`` may hold a list (itself, or in an input object's fields, at any level)."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return True
    if isinstance(type_, GraphQLInputObjectType):
        seen = seen if seen is not None else set()
        if type_.name in seen:
            return False
        seen.add(type_.name)
        return any(_holds_list(field.type, seen) for field in type_.fields.values())
    return False


def _list_count(value: Any, type_: GraphQLInputType) -> ListCount:
    """The lengths a variable's value coerces to: its own list's length, and list items at every level.

    A single value given for a list coerces to a list of one, as graphql-core coerces it. Iterative: the value may
    nest as deep as the body allows."""
    own = 0
    items = 0
    stack: list[tuple[Any, Any, bool]] = [(value, type_, True)]
    while stack:
        current, current_type, top = stack.pop()
        if isinstance(current_type, GraphQLNonNull):
            current_type = current_type.of_type
        if current is None:
            continue
        if isinstance(current_type, GraphQLList):
            elements = current if isinstance(current, list | tuple) else [current]
            items += len(elements)
            if top:
                own = len(elements)
            stack.extend((element, current_type.of_type, False) for element in elements)
        elif isinstance(current_type, GraphQLInputObjectType) and isinstance(current, dict):
            fields = current_type.fields
            stack.extend((current[name], fields[name].type, False) for name in current if name in fields)
    return own, items


def _value_node_count(node: ValueNode) -> ListCount:
    """:data:`ListCount` of a default value written in the document."""
    own = len(node.values) if isinstance(node, ListValueNode) else 0
    items = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ListValueNode):
            items += len(current.values)
            stack.extend(current.values)
        elif isinstance(current, ObjectValueNode):
            stack.extend(field.value for field in current.fields)
    return own, items


def _selected_operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            return definition
    return None


class VariableCost(SchemaExtension):
    """The cost limit again, once the variables are known, for an operation that declares a variable holding a list.

    Runs when validation has passed (its verdict may come from ``ValidationCache``), before execution: a refusal is a
    request error like the validation rule's, and no resolver runs. Operations without such a variable (most, the
    dashboard's included) cost nothing more than a look at their variable definitions.
    """

    def __init__(self, max_cost: int, max_first: int) -> None:
        self.max_cost = max_cost
        self.max_first = max_first

    def on_validate(self) -> Iterator[None]:
        error = self._refusal()
        if error is not None:
            # Strawberry answers errors set here instead of executing (it reads them before validation hooks exit).
            self.execution_context.pre_execution_errors = [error]
        yield

    def _refusal(self) -> GraphQLError | None:
        ec = self.execution_context
        document = ec.graphql_document
        if ec.pre_execution_errors or document is None:
            return None  # refused already: ValidationCache, before this in the schema's list, set its verdict
        try:
            return self._check(ec, document)
        except RecursionError:
            return None  # fragments nested past what can be walked: validation aborts them itself

    def _check(self, ec: Any, document: Any) -> GraphQLError | None:
        operation = _selected_operation(document, ec.operation_name)
        if operation is None or not operation.variable_definitions:
            return None
        schema = ec.schema._schema
        raw = ec.variables or {}
        counts: dict[str, ListCount] = {}
        for definition in operation.variable_definitions:
            type_ = type_from_ast(schema, definition.type)
            if type_ is None or not _holds_list(type_):  # type: ignore[arg-type]
                continue
            name = definition.variable.name.value
            if name in raw:
                counts[name] = _list_count(raw[name], type_)  # type: ignore[arg-type]
            elif definition.default_value is not None:
                counts[name] = _value_node_count(definition.default_value)
        root = schema.get_root_type(operation.operation)
        if not counts or root is None:
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        estimator = CostEstimator(schema, fragments.get, self.max_first, counts)
        cost = estimator.operation(operation, root, self.max_cost)
        return cost_error(cost, self.max_cost, operation) if cost > self.max_cost else None


class RequestShape(SchemaExtension):
    """Refuses, before execution, what GraphQL over HTTP says a request must not be:

    - a document with several operations and no ``operationName`` (running the first would run what the client may
      not have meant: a ``deleteWebhook`` declared first, say);
    - a subscription sent over plain HTTP: subscriptions are served over the WebSocket (graphql-transport-ws) and
      Server-Sent Events (graphql-sse) only.

    Both are request errors (``BAD_USER_INPUT`` naming ``operationName`` or ``query``): no ``data``, and ``400`` for
    a client that asked for ``application/graphql-response+json``.
    """

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if not ec.pre_execution_errors and document is not None:
            # What the client sent, not Strawberry's fallback to the first operation's name.
            given = getattr(ec, "_provided_operation_name", None)
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if given is None and operations > 1:
                ec.pre_execution_errors = [
                    GraphQLError(
                        "the document has several operations: say which one to run with `operationName`",
                        extensions={"code": "BAD_USER_INPUT", "field": "operationName"},
                    )
                ]
            elif ec.operation_type is OperationType.SUBSCRIPTION and _over_http(ec.context):
                ec.pre_execution_errors = [
                    GraphQLError(
                        "subscriptions are served over the WebSocket at this path (graphql-transport-ws) or over "
                        "Server-Sent Events at /graphql/stream (graphql-sse), not over plain HTTP",
                        extensions={"code": "BAD_USER_INPUT", "field": "query"},
                    )
                ]
        yield


def _over_http(context: Any) -> bool:
    """A plain HTTP request: not a WebSocket, and not Server-Sent Events (gateway/graphql_sse.py), which stream."""
    request = getattr(context, "request", None)
    if request is None or request.scope.get("type") != "http":
        return False
    return bool(request.scope.get("state", {}).get("transport") != "sse")


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """The per-request checks the default build adds after ``ValidationCache`` (see :class:`VariableCost`)."""
    return [lambda: VariableCost(limits.max_cost, limits.max_first), RequestShape]
