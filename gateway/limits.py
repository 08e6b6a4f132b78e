"""GraphQL limits as validation rules: depth and aliases (Strawberry's), a cost estimate, directives, introspection.

Each limit is a graphql-core *validation rule*, so that it runs once per distinct document and its verdict is kept by
``ValidationCache``; none is a schema extension with a ``resolve()`` hook (that would slow every field, see
PERFORMANCE.md). :func:`limit_rules` is what ``schema/schema.py`` adds to the default build.

The cost estimate counts the fields an answer may complete, from the document alone (validation sees no variables):

- every field costs 1, plus its children's cost times the field's *multiplier*;
- a field that returns a list and takes ``first`` multiplies by ``first``; a field that takes ``first`` but returns
  an object (a connection) passes ``first`` on to its own list fields (``edges``, ``nodes``);
- ``first`` given as a variable, or not given and without a default, counts as ``limits.max_first``, the most a
  page may hold;
- any other list multiplies by the length of a literal list argument (``nodes(ids: [...])``) or by
  :data:`LIST_FACTOR`;
- fragments count where they are spread, and inline fragments on several types all count (an upper bound);
- ``__schema`` and ``__type`` count 1 each, whatever they select (as graphql-armor's cost limit does by default).

With the defaults the dashboard query ``webhooks(first: 200) { nodes { id url events eventTypes { name group }
deliveryStatuses { event } } }`` costs 7,002 against ``max_cost = 20000``; asking for every field of 500 webhooks
is refused with a message that says to page.
"""

from __future__ import annotations

from collections.abc import Callable
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
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
)
from graphql.language import DirectiveNode
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from gateway.config import Limits

#: What a list without a ``first`` or a literal list argument is assumed to hold.
LIST_FACTOR = 10
#: Estimates saturate here: nested lists multiply, and ``first: 99999999999999999999`` must neither make a number
#: that JSON encoders refuse (above 2**64) nor take long to compute. Any sensible limit is far below it.
COST_CEILING = 2**53

#: Introspection is answered from the schema in process and bounded by the depth, alias and token limits (and
#: off in production); counting it like data would refuse GraphiQL's own introspection query (cost ~50,000).
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def _limit_error(message: str, node: Any, *, limit: str, maximum: int, **extra: Any) -> GraphQLError:
    return GraphQLError(
        message,
        node,
        extensions={"code": "BAD_USER_INPUT", "limit": limit, "maximum": maximum, **extra},
    )


class _CostEstimator:
    """Walks one operation's selections against the schema. Unknown fields (and ``__typename``) count 1."""

    def __init__(
        self, schema: GraphQLSchema, fragments: Callable[[str], FragmentDefinitionNode | None], max_first: int
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.max_first = max_first

    def selection_set(
        self,
        selections: SelectionSetNode | None,
        parent: Any,
        *,
        page: int | None = None,
        spreading: frozenset[str] = frozenset(),
    ) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page=page, spreading=spreading)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self._schema_type(parent, selection.type_condition.name.value)
                total += self.selection_set(selection.selection_set, target, page=page, spreading=spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments(name)
                if fragment is None or name in spreading:
                    continue  # unknown or cyclic: NoUnusedFragments / NoFragmentCycles report it
                target = self._schema_type(parent, fragment.type_condition.name.value)
                total += self.selection_set(fragment.selection_set, target, page=page, spreading=spreading | {name})
        return min(total, COST_CEILING)

    def field(self, node: FieldNode, parent: Any, *, page: int | None, spreading: frozenset[str]) -> int:
        if node.name.value in _INTROSPECTION_ROOTS:
            return 1
        definition = self._definition(parent, node.name.value)
        if definition is None:
            return 1
        returns_list = _is_list(definition.type)
        named = get_named_type(definition.type)
        takes_first = "first" in definition.args
        first = self._first(node, definition) if takes_first else None
        child_page: int | None = None
        if returns_list:
            if first is not None:
                multiplier = first
            elif page is not None:
                multiplier = page  # ``nodes`` / ``edges`` of a connection that took ``first``
            else:
                multiplier = _literal_list_length(node) or LIST_FACTOR
        else:
            multiplier = 1
            child_page = first
        children = self.selection_set(node.selection_set, named, page=child_page, spreading=spreading)
        return min(1 + multiplier * children, COST_CEILING)

    def _first(self, node: FieldNode, definition: GraphQLField) -> int:
        for argument in node.arguments or ():
            if argument.name.value == "first":
                if isinstance(argument.value, IntValueNode):
                    return max(0, int(argument.value.value))
                return self.max_first  # a variable (unknown here) or null: the most a page may hold
        default = definition.args["first"].default_value
        return max(0, default) if isinstance(default, int) and not isinstance(default, bool) else self.max_first

    @staticmethod
    def _definition(parent: Any, name: str) -> GraphQLField | None:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            field: GraphQLField | None = parent.fields.get(name)
            return field
        return None

    def _schema_type(self, parent: Any, name: str) -> Any:
        return self.schema.get_type(name) or parent


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _literal_list_length(node: FieldNode) -> int:
    lengths = [len(a.value.values) for a in node.arguments or () if isinstance(a.value, ListValueNode)]
    return max(lengths, default=0)


def cost_limit_rule(max_cost: int, max_first: int) -> type[ASTValidationRule]:
    """A rule refusing operations whose estimated cost exceeds ``max_cost`` (``limits.max_cost``)."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            if root is None:
                return
            estimator = _CostEstimator(schema, self.context.get_fragment, max_first)
            cost = estimator.selection_set(node.selection_set, root)
            if cost > max_cost:
                self.report_error(
                    _limit_error(
                        f"the operation's estimated cost {cost} exceeds the limit of {max_cost} (limits.max_cost): "
                        "select fewer fields or pass a smaller `first`",
                        node,
                        limit="max_cost",
                        maximum=max_cost,
                        cost=cost,
                    )
                )

    return CostLimit


def directive_limit_rule(max_directives: int) -> type[ASTValidationRule]:
    """A rule refusing documents with more than ``max_directives`` directives (``limits.max_directives``)."""

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
    """The validation rules the default build adds. Built once per schema, so ``ValidationCache`` keys stay equal."""
    # Strawberry's limiters make a new rule class per instance; one instance per schema keeps the classes stable.
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        cost_limit_rule(limits.max_cost, limits.max_first),
        directive_limit_rule(limits.max_directives),
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
