"""The plan: for one selection set on one object type, how each response key is produced, decided once per request.

A *step* is one response key: ``__typename`` (a constant), a *plain* field (read directly: see
:func:`gateway.execution.compat.plain_field`) or a *stock* field (graphql-core's ``execute_field``, unchanged). A
plain field's *completion* says how its value is completed: a leaf copied as it is or serialized, a list of leaves,
an object or a list of objects with a plan of their own, or *other* (the stock ``complete_value``). A plan whose
every step the generated code can complete also gets a *builder* (:func:`object_builder`, compiled by
:mod:`gateway.execution.codegen`).

:class:`Planner` holds one request's plans; :meth:`Planner.fast_fields` lists the fields its plans read directly.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from math import isfinite
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
)
from graphql.pyutils import Path, Undefined

from gateway.execution import codegen
from gateway.execution.codegen import Builder
from gateway.execution.compat import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    KNOWN_IS_AWAITABLE,
    CustomGraphQLEnumType,
    class_decides_is_type_of,
    identity_type,
    plain_class,
    plain_field,
    safe_is_type_of,
)

#: Directives fully handled while collecting fields; any other directive on a field sends it to the stock path.
COLLECT_DIRECTIVES = frozenset({"skip", "include"})

# Completion kinds.
OTHER, LEAF, LEAF_LIST, OBJECT, OBJECT_LIST = range(5)
# Step kinds.
STOCK, PLAIN, TYPENAME = range(3)

#: A response path not built yet: (previous, key, typename), where previous is a Path, another such tuple, or None.
LazyPath = Any

#: Leaf types a builder copies as they are (each value checked for its exact type, ints and floats for range).
EXACT_LEAF_TYPES = (str, bool, int, float)
#: Item types of a list of leaves that a builder copies.
LIST_ITEM_TYPES = (str, bool)


def realize(path: LazyPath) -> Path | None:
    """The graphql-core Path of a lazy path (built only when an error or a resolver needs it)."""
    if path is None or isinstance(path, Path):
        return path
    prev, key, typename = path
    return Path(realize(prev), key, typename)


def plain_directives(field_details_list: Any) -> bool:
    for details in field_details_list:
        if details.fragment_variable_values is not None:
            return False
        for directive in details.node.directives or ():
            if directive.name.value not in COLLECT_DIRECTIVES:
                return False
    return True


class Completion:
    """How to complete a value of one return type at one selection, decided once per request."""

    __slots__ = (
        "coerce",
        "enum_cls",
        "enum_map",
        "fast_type",
        "field_details_list",
        "is_awaitable",
        "is_type_of",
        "item_non_null",
        "item_type",
        "kind",
        "non_null",
        "object_type",
        "return_type",
        "sub_plan",
    )

    def __init__(
        self, return_type: GraphQLOutputType, field_details_list: Any, is_awaitable: Callable[[Any], bool]
    ) -> None:
        self.return_type = return_type
        self.is_awaitable = is_awaitable
        self.field_details_list = field_details_list
        self.kind = OTHER
        self.non_null = isinstance(return_type, GraphQLNonNull)
        self.item_non_null = False
        self.item_type: Any = None
        self.fast_type: type | None = None
        self.coerce: Callable[[Any], Any] | None = None
        self.enum_cls: type | None = None
        self.enum_map: dict[Any, str] = {}
        self.object_type: GraphQLObjectType | None = None
        self.is_type_of: Callable[[Any, Any], Any] | None = None
        self.sub_plan: Plan | None = None
        if not plain_directives(field_details_list):
            return
        inner: Any = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if isinstance(inner, GraphQLList):
            self.item_type = inner.of_type
            self.item_non_null = isinstance(inner.of_type, GraphQLNonNull)
            item = inner.of_type.of_type if self.item_non_null else inner.of_type
            if self._set_leaf(item):
                self.kind = LEAF_LIST
            elif self._set_object(item):
                self.kind = OBJECT_LIST
        elif self._set_leaf(inner):
            self.kind = LEAF
        elif self._set_object(inner):
            self.kind = OBJECT

    def _set_leaf(self, leaf: Any) -> bool:
        if isinstance(leaf, CustomGraphQLEnumType):
            # The map is made with the enum type's own serializer, so a hit answers exactly what it would.
            try:
                enum_cls: Any = leaf.wrapped_cls
                self.enum_map = {member: leaf.coerce_output_value(member) for member in enum_cls}
                self.enum_cls = enum_cls
            except Exception:  # an enum its own serializer refuses: every value goes through the serializer
                self.enum_map = {}
            self.coerce = leaf.coerce_output_value
            return True
        if isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
            self.fast_type = identity_type(leaf)
            self.coerce = leaf.coerce_output_value
            return True
        return False

    def _set_object(self, object_type: Any) -> bool:
        if not isinstance(object_type, GraphQLObjectType):
            return False  # abstract types resolve their runtime type with info: stock
        usable, is_type_of = safe_is_type_of(object_type)
        if not usable:
            return False
        self.object_type = object_type
        self.is_type_of = is_type_of
        return True

    def leaf(self, value: Any) -> Any:
        """The serialized leaf, or Undefined when the stock path must decide (and raise, or await)."""
        kind = type(value)
        if kind is self.fast_type:
            if kind is int:
                return value if GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT else Undefined
            if kind is float:
                return value if isfinite(value) else Undefined
            return value
        if kind is self.enum_cls:
            return self.enum_map.get(value, Undefined)
        if value is None or isinstance(value, Exception) or self.is_awaitable(value):
            return Undefined
        coerce = self.coerce
        assert coerce is not None
        try:
            coerced = coerce(value)
        except Exception:
            return Undefined  # the stock path calls it again and reports the error (serializers are pure)
        return Undefined if coerced is None else coerced


class Step:
    """One response key of a selection: how to produce its value."""

    __slots__ = ("attr", "completion", "field_def", "field_details_list", "getter", "key", "kind", "return_type")

    def __init__(self, kind: int, key: str, field_details_list: Any, field_def: GraphQLField | None) -> None:
        self.kind = kind
        self.key = key
        self.field_details_list = field_details_list
        self.field_def = field_def
        self.return_type: Any = field_def.type if field_def is not None else None
        self.getter: Callable[[Any], Any] | None = None
        self.attr: str | None = None  # the attribute a plain field reads with getattr (for generated code)
        self.completion: Completion | None = None


class Plan:
    """The steps of one selection set on one object type; shared by every object completed with it."""

    __slots__ = ("builder", "env", "grouped_field_set", "inline", "loops", "parent_type", "steps", "typename")

    def __init__(self, parent_type: GraphQLObjectType, grouped_field_set: Any, steps: list[Step]) -> None:
        self.parent_type = parent_type
        self.grouped_field_set = grouped_field_set  # kept alive: plans are keyed by its id()
        self.steps = steps
        self.typename = parent_type.name
        #: Generated code completing a whole object (see :func:`object_builder`), or None.
        self.builder: Builder | None = None
        self.env: tuple[Any, ...] = ()
        #: Whether the builder loops over a list of objects (at any depth).
        self.loops = False
        #: The builder's shape when it copies leaves only and needs no ``env``: a parent's builder then writes this
        #: code into its own instead of calling the builder (no call per item of a list).
        self.inline: codegen.Shape | None = None


#: What a builder needs to check that an object is not awaitable, as the interpreted path checks it: the context's
#: ``is_awaitable``, its map of classes to whether they are plain (:func:`compat.plain_class`), and the function that
#: fills it.
ObjectChecks = tuple[Callable[[Any], bool], dict[type, bool], Callable[[type], bool]]


def object_builder(plan: Plan, checks: ObjectChecks) -> tuple[Builder, tuple[Any, ...], bool, Any] | None:
    """(builder, env, loops, inline) for a plan whose every step generated code can complete; None for any other.

    The plan is described as a *shape* (:data:`codegen.Shape`), one entry per step, which
    :func:`codegen.compile_builder` turns into code. A step qualifies when it is ``__typename``, or a plain field read
    with plain ``getattr`` whose value is:

    - a leaf copied as it is (or mapped, for an enum), as :meth:`Completion.leaf` copies it;
    - a list (or tuple) of ``str`` or ``bool`` leaves, copied into a new list;
    - an object whose selection has a builder, completed by it after the checks of the interpreted path;
    - a list of such objects, provided their builder loops over no list of objects itself: a builder gives up on the
      whole object at the first item it cannot take, and redoing at most one level of list keeps that waste small
      (a page of webhooks is completed item by item by the interpreted plan, each webhook by its builder).

    What varies per schema or request (an enum's map, nested builders, the ``is_type_of`` closures, the awaitability
    checks) is passed in ``env``, so that compiled code is shared by every selection of the same shape. ``inline`` is
    the shape itself when it copies leaves of exact types only and needs no ``env``: a parent's builder then writes
    the code into its own.
    """
    shape: list[tuple[Any, ...]] = []
    env: list[Any] = []
    loops = False
    for step in plan.steps:
        if step.kind == TYPENAME:
            shape.append((step.key, "typename", plan.typename))
            continue
        completion = step.completion
        attr = step.attr
        if step.kind != PLAIN or completion is None or attr is None:
            return None
        if not attr.isidentifier() or keyword.iskeyword(attr):
            return None
        null = "nullable" if not completion.non_null else "non-null"
        kind = completion.kind
        if kind == LEAF:
            if completion.enum_cls is not None and completion.enum_map:
                shape.append((step.key, attr, null, "enum", str(len(env))))
                env.extend((completion.enum_cls, completion.enum_map))
            elif completion.fast_type in EXACT_LEAF_TYPES:
                assert completion.fast_type is not None
                shape.append((step.key, attr, null, completion.fast_type.__name__))
            else:
                return None
        elif kind == LEAF_LIST:
            if completion.fast_type not in LIST_ITEM_TYPES:
                return None
            assert completion.fast_type is not None
            item_null = "non-null" if completion.item_non_null else "nullable"
            shape.append((step.key, attr, null, "leaves", item_null, completion.fast_type.__name__))
        elif kind in (OBJECT, OBJECT_LIST):
            sub_plan = completion.sub_plan
            if sub_plan is None or sub_plan.builder is None:
                return None
            typed = "checked" if completion.is_type_of is not None else "unchecked"
            inline: Any = sub_plan.inline or ()
            if kind == OBJECT_LIST:
                if sub_plan.loops:
                    return None
                item_null = "non-null" if completion.item_non_null else "nullable"
                shape.append((step.key, attr, null, "objects", item_null, typed, str(len(env)), inline))
                loops = True
            else:
                shape.append((step.key, attr, null, "object", typed, str(len(env)), inline))
                loops = loops or sub_plan.loops
            env.extend((sub_plan.builder, sub_plan.env, completion.is_type_of, *checks))
        else:
            return None
    if not shape:
        return None
    frozen = tuple(shape)
    exact_leaves = {kind.__name__ for kind in EXACT_LEAF_TYPES}
    inline_ok = not env and all(item[1] == "typename" or item[3] in exact_leaves for item in frozen)
    return codegen.compile_builder(frozen), tuple(env), loops, frozen if inline_ok else None


class Planner:
    """The plans and completions of one request (plans are keyed by the ids of objects the request keeps alive)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        collect_subfields: Callable[[GraphQLObjectType, Any], Any],
        is_awaitable: Callable[[Any], bool],
    ) -> None:
        self.schema = schema
        self.collect_subfields = collect_subfields
        self.is_awaitable = is_awaitable
        self.plans: dict[tuple[int, int], Plan] = {}
        self.completions: dict[tuple[int, int], tuple[Any, Completion]] = {}
        #: Classes of the objects met in this request, and whether each is plain (learnt per request, so that a class
        #: changed at run time is seen by the next request).
        self.plain_classes: dict[type, bool] = {}
        self.knows_is_awaitable = is_awaitable in KNOWN_IS_AWAITABLE
        self.checks: ObjectChecks = (is_awaitable, self.plain_classes, self.learn_class)
        #: Per (is_type_of, class) met in this request: whether one object's answer stands for the class's objects.
        self.class_decided: dict[tuple[Callable[[Any, Any], Any], type], bool] = {}

    def decides(self, is_type_of: Callable[[Any, Any], Any], cls: type) -> bool:
        """:func:`compat.class_decides_is_type_of`, once per request per pair."""
        key = (is_type_of, cls)
        decided = self.class_decided.get(key)
        if decided is None:
            decided = self.class_decided[key] = class_decides_is_type_of(is_type_of, cls)
        return decided

    def learn_class(self, cls: type) -> bool:
        """Whether objects of ``cls`` take the plain-class awaitability check (see :func:`compat.plain_class`)."""
        plain = self.plain_classes[cls] = self.knows_is_awaitable and plain_class(cls)
        return plain

    def plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        key = (id(parent_type), id(grouped_field_set))
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = self._build_plan(parent_type, grouped_field_set)
        return plan

    def _build_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        steps: list[Step] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_name = node.name.value
            field_def = self.schema.get_field(parent_type, field_name)
            if field_def is None or not plain_directives(field_details_list) or node.arguments:
                steps.append(Step(STOCK, response_name, field_details_list, field_def))
                continue
            if field_name == "__typename":
                steps.append(Step(TYPENAME, response_name, field_details_list, field_def))
                continue
            plain = plain_field(field_def) if not field_def.args else None
            if plain is None:
                steps.append(Step(STOCK, response_name, field_details_list, field_def))
                continue
            step = Step(PLAIN, response_name, field_details_list, field_def)
            step.getter, step.attr = plain
            step.completion = completion = self.completion(field_def.type, field_details_list)
            if completion.kind in (OBJECT, OBJECT_LIST):
                self.sub_plan(completion)  # made now, for the builder below (it would be at the first value)
            steps.append(step)
        plan = Plan(parent_type, grouped_field_set, steps)
        made = object_builder(plan, self.checks)
        if made is not None:
            plan.builder, plan.env, plan.loops, plan.inline = made
        return plan

    def completion(self, return_type: GraphQLOutputType, field_details_list: Any) -> Completion:
        key = (id(return_type), id(field_details_list))
        cached = self.completions.get(key)
        if cached is None:
            # The field details list is kept alive with the entry so that its id is not reused during the request.
            completion = Completion(return_type, field_details_list, self.is_awaitable)
            cached = self.completions[key] = (field_details_list, completion)
        return cached[1]

    def sub_plan(self, completion: Completion) -> Plan | None:
        """The plan of the selection below an object completion; None when it needs the stock path (@defer)."""
        plan = completion.sub_plan
        if plan is None:
            object_type = completion.object_type
            assert object_type is not None
            grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(
                object_type, completion.field_details_list
            )
            if new_defer_usages:
                return None
            plan = completion.sub_plan = self.plan(object_type, grouped_field_set)
        return plan

    def fast_fields(self) -> set[str]:
        """``Type.field`` of every field the request's plans read directly (without graphql-core's ``execute_field``);
        every other field of the request took the stock path."""
        return {
            f"{plan.typename}.{step.field_details_list[0].node.name.value}"
            for plan in self.plans.values()
            for step in plan.steps
            if step.kind == PLAIN
        }
