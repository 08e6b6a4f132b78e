"""GraphQL limits on the document: depth, aliases, a cost estimate and directives, as validation rules (the checks
that need the request's variables or the request itself are in ``gateway/request_limits.py``).

Each document limit is a graphql-core *validation rule*, so that it runs once per distinct document and its verdict is
kept by ``ValidationCache``; none is a schema extension with a ``resolve()`` hook (that would slow every field, see
PERFORMANCE.md). :func:`limit_rules` is what ``schema/schema.py`` adds to the default build; the per-request checks
that need the variables or the request (``VariableCost``, ``RequestShape``) are in ``gateway/request_limits.py``.

Validation work grows linearly with the document. A fragment may be spread many times, and fragments spreading
fragments multiply (``fragment F1 on Query { ...F0 ...F0 }`` thirty times over is a billion spreads in under 1 KB):
so no rule walks a fragment where it is spread. Each computes what it needs of a fragment once per document (its
depth, its aliases, its cost), memoised by the fragment's name, and combines these numbers at each spread. A fragment
met again while its own computation is under way (a cycle, which ``NoFragmentCycles`` reports) counts nothing. No
rule does work in its constructor: graphql-core checks first that fragments do not nest deeper than it can recurse.

The cost estimate counts the fields an answer may complete:

- every field costs 1, plus 1 for every list item given in its arguments (an id to look up, a type to filter by),
  plus its children's cost times the field's *multiplier*;
- a field that returns a list and takes ``first`` multiplies by ``first``; a field that takes ``first`` but returns
  an object (a connection) passes ``first`` on to its own list fields (``edges``, ``nodes``);
- ``first`` given as a variable, or not given and without a default, counts as ``limits.max_first``, the most a
  page may hold;
- any other list multiplies by the length of its longest list argument (``nodes(ids: [...])``) or by
  :data:`LIST_FACTOR`;
- fragments count where they are spread, and inline fragments on several types all count (an upper bound);
- ``__schema`` and ``__type`` count 1 each, whatever they select (as graphql-armor's cost limit does by default).

Validation sees no variables: there a list given as a variable counts as :data:`LIST_FACTOR` items. Once the request's
variables are known, ``VariableCost`` (``gateway/request_limits.py``) estimates again, with the same
:class:`CostEstimator`, the operations that declare a variable holding a list.

With the defaults the dashboard query ``webhooks(first: 200) { nodes { id url events eventTypes { name group }
deliveryStatuses { event } } }`` costs 7,002 against ``max_cost = 20000``; asking for every field of 500 webhooks
is refused with a message that says to page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.language import DirectiveNode
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule

from gateway.config import Limits

#: What a list without a ``first`` or a list argument of known length is assumed to hold.
LIST_FACTOR = 10
#: Estimates saturate here: nested lists multiply, and ``first: 99999999999999999999`` must neither make a number
#: that JSON encoders refuse (above 2**64) nor take long to compute. Any sensible limit is far below it.
COST_CEILING = 2**53

#: Introspection is answered from the schema in process and bounded by the depth, alias and token limits (and
#: off in production); counting it like data would refuse GraphiQL's own introspection query (cost ~50,000).
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})

#: A variable's list: (length of the list itself, list items at every level of its value).
ListCount = tuple[int, int]


def _limit_error(message: str, node: Any, *, limit: str, maximum: int, **extra: Any) -> GraphQLError:
    return GraphQLError(
        message,
        node,
        extensions={"code": "BAD_USER_INPUT", "limit": limit, "maximum": maximum, **extra},
    )


def _saturated(value: int) -> int:
    return value if value < COST_CEILING else COST_CEILING


def _operation_label(node: OperationDefinitionNode) -> str:
    return node.name.value if node.name else "anonymous"


# -- depth and aliases ---------------------------------------------------------------------------------------------


class _DepthWalker:
    """Depths as Strawberry's ``QueryDepthLimiter`` counted them, each fragment's computed once.

    A selection set's *height* is how many levels below its own selections the deepest selection lies: a field with
    a selection set adds a level (unless it is introspection: ``__schema``, ``__typename``...), fragments add none.
    An operation is too deep when its height exceeds ``max_depth``. Heights are capped at ``max_depth + 1``: the walk
    goes no deeper than that within a definition and stops at the first selection that reaches it.
    """

    def __init__(self, fragments: Callable[[str], FragmentDefinitionNode | None], cap: int) -> None:
        self.fragments = fragments
        self.cap = cap
        self.heights: dict[str, int] = {}
        self.visits = 0

    def height(self, selections: SelectionSetNode, room: int) -> int:
        """``min(height, room)``."""
        best = 0
        for selection in selections.selections:
            if best >= room:
                break
            self.visits += 1
            if isinstance(selection, FieldNode):
                if selection.selection_set is None or selection.name.value.startswith("__"):
                    continue
                reached = 1 + self.height(selection.selection_set, room - 1) if room > 1 else room
            elif isinstance(selection, InlineFragmentNode):
                reached = self.height(selection.selection_set, room)
            elif isinstance(selection, FragmentSpreadNode):
                reached = min(self.fragment(selection.name.value), room)
            else:
                continue
            best = max(best, reached)
        return best

    def fragment(self, name: str) -> int:
        known = self.heights.get(name)
        if known is not None:
            return known
        definition = self.fragments(name)
        self.heights[name] = 0  # while it is computed: a cycle through it counts nothing
        if definition is not None:
            self.heights[name] = self.height(definition.selection_set, self.cap)
        return self.heights[name]


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` (``limits.max_depth``)."""

    class DepthLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.walker: _DepthWalker | None = None

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            if self.walker is None:  # shared by the document's operations: a fragment is walked once
                self.walker = _DepthWalker(self.context.get_fragment, max_depth + 1)
            if self.walker.height(node.selection_set, max_depth + 1) > max_depth:
                self.report_error(
                    _limit_error(
                        f"'{_operation_label(node)}' exceeds maximum operation depth of {max_depth}",
                        node,
                        limit="max_depth",
                        maximum=max_depth,
                    )
                )

    return DepthLimit


class _AliasCounter:
    """Aliased fields as Strawberry's ``MaxAliasesLimiter`` counted them (a fragment's once per spread), each
    fragment's counted once."""

    def __init__(self, fragments: Callable[[str], FragmentDefinitionNode | None]) -> None:
        self.fragments = fragments
        self.counts: dict[str, int] = {}
        self.visits = 0

    def count(self, selections: SelectionSetNode) -> int:
        total = 0
        for selection in selections.selections:
            self.visits += 1
            if isinstance(selection, FieldNode):
                total += selection.alias is not None
                if selection.selection_set is not None:
                    total += self.count(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.count(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return _saturated(total)

    def fragment(self, name: str) -> int:
        known = self.counts.get(name)
        if known is not None:
            return known
        definition = self.fragments(name)
        self.counts[name] = 0  # while it is counted: a cycle through it counts nothing
        if definition is not None:
            self.counts[name] = self.count(definition.selection_set)
        return self.counts[name]


def alias_limit_rule(max_aliases: int) -> type[ASTValidationRule]:
    """A rule refusing documents whose operations use more than ``max_aliases`` aliases (``limits.max_aliases``)."""

    class AliasLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.counter: _AliasCounter | None = None
            self.total = 0

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            if self.total > max_aliases:
                return  # reported once, for the document
            if self.counter is None:
                self.counter = _AliasCounter(self.context.get_fragment)
            self.total = _saturated(self.total + self.counter.count(node.selection_set))
            if self.total > max_aliases:
                self.report_error(
                    _limit_error(
                        f"{self.total} aliases found. Allowed: {max_aliases}",
                        node,
                        limit="max_aliases",
                        maximum=max_aliases,
                    )
                )

    return AliasLimit


# -- cost ------------------------------------------------------------------------------------------------------------

#: The cost of a selection set as a function of the page its list fields inherit from a connection's ``first``:
#: ``(fixed, per_page, unpaged)`` is ``fixed + per_page * page`` with a page, ``fixed + unpaged`` without one.
Cost = tuple[int, int, int]
_FREE: Cost = (0, 0, 0)
_ONE: Cost = (1, 0, 0)


def _at(cost: Cost, page: int | None) -> int:
    fixed, per_page, unpaged = cost
    return _saturated(fixed + (per_page * page if page is not None else unpaged))


class CostEstimator:
    """Walks operations' selections against the schema. Unknown fields (and ``__typename``) count 1.

    ``variables`` (name -> :data:`ListCount`) are the list variables' lengths, when known; without them a list
    variable counts as :data:`LIST_FACTOR` items. A fragment's cost is computed once per estimator.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Callable[[str], FragmentDefinitionNode | None],
        max_first: int,
        variables: Mapping[str, ListCount] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.max_first = max_first
        self.variables: Mapping[str, ListCount] = variables or {}
        self.costs: dict[str, Cost] = {}
        self.visits = 0

    def operation(self, node: OperationDefinitionNode, root: GraphQLObjectType, max_cost: int) -> int:
        """The operation's cost; the walk stops at the first root field that takes the total past ``max_cost``."""
        total = 0
        for selection in node.selection_set.selections:
            total = _saturated(total + _at(self._selection(selection, root), None))
            if total > max_cost:
                break
        return total

    def selection_set(self, selections: SelectionSetNode | None, parent: Any) -> Cost:
        if selections is None:
            return _FREE
        fixed = per_page = unpaged = 0
        for selection in selections.selections:
            f, p, u = self._selection(selection, parent)
            fixed, per_page, unpaged = fixed + f, per_page + p, unpaged + u
        return _saturated(fixed), _saturated(per_page), _saturated(unpaged)

    def _selection(self, selection: Any, parent: Any) -> Cost:
        self.visits += 1
        if isinstance(selection, FieldNode):
            return self.field(selection, parent)
        if isinstance(selection, InlineFragmentNode):
            target = parent
            if selection.type_condition is not None:
                target = self.schema.get_type(selection.type_condition.name.value) or parent
            return self.selection_set(selection.selection_set, target)
        if isinstance(selection, FragmentSpreadNode):
            return self.fragment(selection.name.value)
        return _FREE

    def fragment(self, name: str) -> Cost:
        known = self.costs.get(name)
        if known is not None:
            return known
        definition = self.fragments(name)
        self.costs[name] = _FREE  # while it is computed: a cycle through it (an error anyway) costs nothing
        if definition is not None:
            target = self.schema.get_type(definition.type_condition.name.value)
            self.costs[name] = self.selection_set(definition.selection_set, target)
        return self.costs[name]

    def field(self, node: FieldNode, parent: Any) -> Cost:
        if node.name.value in _INTROSPECTION_ROOTS:
            return _ONE
        definition = self._definition(parent, node.name.value)
        if definition is None:
            return _ONE
        named = get_named_type(definition.type)
        base = 1 + self._argument_items(node)
        first = self._first(node, definition) if "first" in definition.args else None
        if not _is_list(definition.type):
            # A connection: its list fields take ``first`` as their page.
            return _saturated(base + _at(self.selection_set(node.selection_set, named), first)), 0, 0
        children = _at(self.selection_set(node.selection_set, named), None)
        if first is not None:
            return _saturated(base + first * children), 0, 0
        # ``nodes`` / ``edges`` of a connection take the page it was given; anything else its list argument's length.
        length = self._list_length(node) or LIST_FACTOR
        return _saturated(base), children, _saturated(length * children)

    def _first(self, node: FieldNode, definition: GraphQLField) -> int:
        for argument in node.arguments or ():
            if argument.name.value == "first":
                if isinstance(argument.value, IntValueNode):
                    return max(0, int(argument.value.value))
                return self.max_first  # a variable (unknown here) or null: the most a page may hold
        default = definition.args["first"].default_value
        return max(0, default) if isinstance(default, int) and not isinstance(default, bool) else self.max_first

    def _list_length(self, node: FieldNode) -> int:
        longest = 0
        for argument in node.arguments or ():
            value = argument.value
            if isinstance(value, ListValueNode):
                longest = max(longest, len(value.values))
            elif isinstance(value, VariableNode):
                longest = max(longest, self.variables.get(value.name.value, (0, 0))[0])
        return longest

    def _argument_items(self, node: FieldNode) -> int:
        """The list items of the field's arguments, at every level (variables' when known)."""
        items = 0
        stack: list[ValueNode] = [argument.value for argument in node.arguments or ()]
        while stack:
            value = stack.pop()
            if isinstance(value, ListValueNode):
                items += len(value.values)
                stack.extend(value.values)
            elif isinstance(value, ObjectValueNode):
                stack.extend(field.value for field in value.fields)
            elif isinstance(value, VariableNode):
                items += self.variables.get(value.name.value, (0, 0))[1]
        return items

    @staticmethod
    def _definition(parent: Any, name: str) -> GraphQLField | None:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field: GraphQLField | None = parent.fields.get(name)
            return field
        return None


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def cost_error(cost: int, max_cost: int, node: Any) -> GraphQLError:
    return _limit_error(
        f"the operation's estimated cost {cost} exceeds the limit of {max_cost} (limits.max_cost): "
        "select fewer fields or pass a smaller `first`",
        node,
        limit="max_cost",
        maximum=max_cost,
        cost=cost,
    )


def cost_limit_rule(max_cost: int, max_first: int) -> type[ASTValidationRule]:
    """A rule refusing operations whose estimated cost exceeds ``max_cost`` (``limits.max_cost``)."""

    class CostLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.estimator: CostEstimator | None = None

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            if root is None:
                return
            if self.estimator is None:  # shared by the document's operations: a fragment is costed once
                self.estimator = CostEstimator(schema, self.context.get_fragment, max_first)
            cost = self.estimator.operation(node, root, max_cost)
            if cost > max_cost:
                self.report_error(cost_error(cost, max_cost, node))

    return CostLimit


def directive_limit_rule(max_directives: int) -> type[ASTValidationRule]:
    """A rule refusing documents with more than ``max_directives`` directives (``limits.max_directives``).

    Directives are counted where they are written, once each (the visitor does not follow spreads): linear."""

    class DirectiveLimit(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.count = 0
            self.reported = False

        def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
            self.count += 1
            if self.count > max_directives and not self.reported:
                self.reported = True  # one error, not one per extra directive
                self.report_error(
                    _limit_error(
                        f"the document has more than {max_directives} directives (limits.max_directives)",
                        node,
                        limit="max_directives",
                        maximum=max_directives,
                    )
                )

    return DirectiveLimit


def limit_rules(limits: Limits, *, production: bool) -> list[type[ASTValidationRule]]:
    """The validation rules the default build adds. Built once per schema, so ``ValidationCache`` keys stay equal.

    (The token limit is the parser's: Strawberry's ``MaxTokensLimiter``, linear by nature.)"""
    rules: list[type[ASTValidationRule]] = [
        depth_limit_rule(limits.max_depth),
        alias_limit_rule(limits.max_aliases),
        cost_limit_rule(limits.max_cost, limits.max_first),
        directive_limit_rule(limits.max_directives),
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
