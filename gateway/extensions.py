"""Schema extensions of the default build. None has a ``resolve()`` hook: that would slow every field.

- :class:`ErrorShaping` gives every error an ``extensions.code`` (validation and syntax errors are
  ``BAD_USER_INPUT``), masks unexpected exceptions as ``INTERNAL`` with the request id (the traceback goes to the
  log), and adds the request's partial errors (one failing source among several) to the response. In production it
  also drops graphql-core's "Did you mean ...?" suggestions, which would spell out the schema that introspection
  no longer shows.
- :class:`ScopeGuard` refuses an operation whose type the principal's scopes do not cover, before execution.
- :class:`ResponseCaching` serves read queries from the runtime's response cache (``gateway/cache.py``) and keeps
  complete answers with the sources the request's loaders noted; in the schema only when ``[cache] enabled``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, Final

from graphql import ArgumentNode, GraphQLError, Node, ObjectFieldNode, VariableDefinitionNode, VariableNode
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult, StreamExecutionResult
from strawberry.types.graphql import OperationType

from gateway.cache import Reads, ResponseCache
from gateway.errors import HookgateError

log = logging.getLogger("hookgate.errors")

REQUIRED_SCOPE: Final = {
    OperationType.QUERY: "read",
    OperationType.SUBSCRIPTION: "read",
    OperationType.MUTATION: "write",
}


#: graphql-core's suggestion suffixes: " Did you mean 'url'?", " Did you mean the enum value 'UIPATH'?", ...
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _request_id(context: Any) -> str | None:
    return getattr(context, "request_id", None)


def _production(context: Any) -> bool:
    runtime = getattr(context, "runtime", None)
    return bool(runtime is not None and runtime.settings.production)


#: graphql-core's variable coercion errors: the variable, and the path inside its value when there is one.
_VARIABLE_ERROR = re.compile(r"Variable '\$(\w+)' has invalid (?:default )?value(?: at ([^:]+))?: ")


def find_in_document(
    document: Any, match: Callable[[Any], bool], *, skip: tuple[type[Node], ...] = ()
) -> tuple[Any, str | None] | None:
    """The first AST node of ``document`` that ``match`` accepts, with the name of the argument or input field that
    holds it (None outside any), not looking inside ``skip`` nodes. Iterative: documents nest as deep as the parser
    allows."""
    stack: list[tuple[Any, str | None]] = [(document, None)]
    while stack:
        node, field = stack.pop()
        if match(node):
            return node, field
        if isinstance(node, skip):
            continue
        if isinstance(node, ArgumentNode | ObjectFieldNode):
            field = node.name.value
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append((child, field))
            elif isinstance(child, tuple | list):
                stack.extend((item, field) for item in reversed(child) if isinstance(item, Node))
    return None


def _variable_field(message: str, document: Any) -> str | None:
    """The input field a variable coercion error is about: the path inside the variable's input object, else the
    argument or input field where the operation uses the variable."""
    found = _VARIABLE_ERROR.match(message)
    if found is None:
        return None
    name, path = found[1], found[2]
    if path and path.startswith("."):
        return path[1:]
    usage = None
    if document is not None:
        used = find_in_document(
            document, lambda n: isinstance(n, VariableNode) and n.name.value == name, skip=(VariableDefinitionNode,)
        )
        usage = used[1] if used is not None else None
    return f"{usage or name}{path or ''}"


def shape_error(error: GraphQLError, context: Any, document: Any = None) -> GraphQLError:
    """The error as a client may see it."""
    original = error.original_error
    if isinstance(original, HookgateError):
        if original.code == "INTERNAL":
            log.error("internal error", exc_info=original, extra={"request_id": _request_id(context)})
        return error
    if original is None or isinstance(original, GraphQLError):
        # A variable's coercion error wraps the scalar's own error: keep its extensions, and name the field.
        inner = dict(original.extensions or {}) if original is not None else {}
        extensions = {**inner, **(error.extensions or {})}
        extensions.setdefault("code", "BAD_USER_INPUT")
        if extensions["code"] == "BAD_USER_INPUT" and extensions.get("field") is None:
            field = _variable_field(error.message, document)
            if field is not None:
                extensions["field"] = field
        error.extensions = extensions
        if _production(context) and "Did you mean" in error.message:
            error.message = _SUGGESTION.sub("", error.message)
        return error
    request_id = _request_id(context)
    log.error("unexpected error", exc_info=original, extra={"request_id": request_id, "path": error.path})
    return GraphQLError(
        "Internal server error",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL", "requestId": request_id},
    )


class ErrorShaping(SchemaExtension):
    """Over HTTP the one result is shaped when the operation ends. Over a stream (graphql-transport-ws: queries and
    mutations too) each result is shaped in ``on_stream_result``, before the transport sends it; the operation ends
    only after the last one was sent."""

    _streamed = False
    _partial_sent = 0  # how many of the context's partial errors earlier results of the stream carried

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:
            # A hook raised before any result existed (ParserCache raises syntax errors, the token limit's included,
            # from its own on_parse): Strawberry answers with the exception itself, so shape it on its way out.
            shape_error(error, self.execution_context.context)
            raise
        if not self._streamed:
            self._shape(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._streamed = True
        self._shape(result)
        yield

    def _shape(self, result: object) -> None:
        if not isinstance(result, ExecutionResult | GraphQLExecutionResult):
            return  # no result (a hook raised), or an incremental delivery frame (not enabled)
        context = self.execution_context.context
        document = self.execution_context.graphql_document
        errors = [shape_error(e, context, document) for e in (result.errors or [])]
        partial = getattr(context, "partial_errors", None)
        if partial:
            # A subscription's results share one context: each carries the partial errors raised since the last.
            errors.extend(partial[self._partial_sent :])
            self._partial_sent = len(partial)
        result.errors = errors or None


class ScopeGuard(SchemaExtension):
    """Refuses an operation whose type the principal's scopes do not cover: FORBIDDEN, and nothing runs.

    The check is made when the document is validated, because Strawberry's subscribe path ignores a result set in
    ``on_execute`` (a subscription would start for a key without ``read``). ``ValidationCache`` sets
    ``pre_execution_errors`` itself, so this extension must come *after* it in the schema's list; ``on_execute``
    repeats the check for queries and mutations should that order ever change.
    """

    def _refusal(self) -> GraphQLError | None:
        principal = getattr(self.execution_context.context, "principal", None)
        if principal is None:
            return None
        needed = REQUIRED_SCOPE.get(self.execution_context.operation_type, "read")
        if principal.can(needed):
            return None
        return GraphQLError(
            f"API key '{principal.name}' lacks the {needed} scope",
            extensions={"code": "FORBIDDEN", "scope": needed},
        )

    def on_validate(self) -> Iterator[None]:
        refusal = self._refusal()
        if refusal is not None:
            # Strawberry skips validation when errors are already set, and answers them instead of executing.
            self.execution_context.pre_execution_errors = [refusal]
        yield

    def on_execute(self) -> Iterator[None]:
        refusal = self._refusal()
        if refusal is not None:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield


class ResponseCaching(SchemaExtension):
    """Serves read queries from ``runtime.response_cache``; in the schema only when the cache is enabled.

    A miss executes, then keeps a complete answer with the sources the request read (``ctx.reads``, noted by the
    request's loaders), unless a resolver said the answer must not be kept.
    """

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        context = ec.context
        runtime = getattr(context, "runtime", None)
        cache: ResponseCache | None = getattr(runtime, "response_cache", None)
        principal = getattr(context, "principal", None)
        reads: Reads | None = getattr(context, "reads", None)
        if (
            cache is None
            or principal is None
            or reads is None
            or ec.result is not None  # refused before execution (ScopeGuard)
            or ec.operation_type is not OperationType.QUERY
            or not ec.query
        ):
            yield
            return
        try:
            key = cache.key(principal.name, ec.query, ec.operation_name, ec.variables)
        except TypeError:
            yield
            return
        data = cache.get(key)
        if data is not None:
            ec.result = GraphQLExecutionResult(data=data, errors=None)
            yield
            return
        since = cache.epoch
        reads.sources.clear()  # what this execution reads, and nothing before it
        reads.keepable = True
        yield
        result = ec.result
        if (
            isinstance(result, GraphQLExecutionResult)
            and not result.errors
            and result.data is not None
            and not getattr(context, "partial_errors", None)
            and reads.keepable
        ):
            cache.put(key, result.data, frozenset(reads.sources), since_epoch=since)
