"""The fast execution context: graphql-core's, with plain fields read and completed without its per-field machinery.

Why: graphql-core completes every value of an answer through the same general machinery (``execute_field`` builds a
resolve-info object, calls the resolver through Strawberry's wrapper, then ``complete_value`` walks the type's
wrappers, checks awaitability, builds a response path...). A dashboard answer has thousands of values, and most of
them are *plain* fields: an attribute copied from a record and a scalar that needs no conversion. This context
completes those directly and leaves every other case to the stock code, unchanged.

What is fast is decided once per request per selection, in a *plan* shared by every item of a list
(:mod:`gateway.execution.plan`):

- a field is *plain* when Strawberry resolves it with no resolver of its own, no field extensions, no permission
  classes (:func:`gateway.execution.compat.plain_field`); its value is read without Strawberry's wrapper and without
  a resolve-info object;
- scalars whose serializer is the identity for the value's exact type are copied as they are: ``str`` for String and
  ID, ``bool`` for Boolean, a 32-bit ``int`` for Int, a finite ``float`` for Float; enums come from a map computed
  with the enum type's own serializer; other scalars call their serializer, as stock does;
- objects and lists of objects reached through plain fields are completed inline; ``__typename`` is a constant;
- a selection whose every field is one of the above is completed by generated code cached across requests
  (:mod:`gateway.execution.codegen`), with the same checks; at the first value it cannot take, it gives up and
  the interpreted plan completes that object from the start;
- response paths are built only when something goes wrong (an error needs its path) or when a resolver field needs
  one (``info.path``).

One implementation completes a plain value in the interpreter (:meth:`FastExecutionContext._complete_value_of`,
used for plain fields and for the values of resolver fields alike); generated code is a compiled specialisation of
it that gives up to it.

Everything else takes the stock path, unchanged: fields with resolvers (their *values* are still completed here when
the shape allows), abstract types, nested lists, directives other than ``@skip``/``@include`` (``@stream``), deferred
fragments, schemas with a middleware (any extension with a ``resolve`` hook turns the fast path off), and every
anomaly: a null in a non-null position, an exception or awaitable as a value, a value the serializer refuses, a
failed ``is_type_of``. For an anomaly the stock completion runs from the value already read, so errors carry the same
message, path and locations as stock execution. ``tests/execution/test_fast_path_equivalence.py`` and
``tests/execution/test_differential.py`` compare the answers of both byte for byte.

Awaitability of objects is checked per object, exactly (an ``__await__`` set on one instance is seen): for an object
of a *plain class* (:func:`gateway.execution.compat.plain_class`) the check is whether its own ``__dict__`` holds
``__await__``, which is what ``is_awaitable`` answers for it; any other object goes through ``is_awaitable`` itself.
In a list of objects, Strawberry's ``is_type_of`` is asked once per run of objects of one plain class where the class
decides its answer (:func:`gateway.execution.compat.class_decides_is_type_of`); an object whose own ``__dict__`` holds
what it reads of the object (a ``strawberry.cast``) is still asked itself.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLObjectType, GraphQLOutputType, GraphQLResolveInfo
from graphql.pyutils import Path, Undefined

from gateway.execution.compat import (
    IS_TYPE_OF_NAMES,
    StrawberryGraphQLCoreExecutionContext,
    gather_with_cancel,
    has_middleware,
    to_nodes,
)
from gateway.execution.plan import (
    LEAF,
    LEAF_LIST,
    OBJECT,
    OTHER,
    PLAIN,
    TYPENAME,
    Completion,
    LazyPath,
    Plan,
    Planner,
    Step,
    realize,
)

#: graphql-core's resolve info (generic in its context type, which this module never looks into).
ResolveInfo = GraphQLResolveInfo[Any]


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the fast path described in the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A middleware (an extension with a resolve() hook) must see every field: then nothing is fast.
        self._fast = not has_middleware(self)
        self.planner = Planner(self.schema, self.collect_subfields, self.is_awaitable)
        self._plain_classes = self.planner.plain_classes
        self._learn_class = self.planner.learn_class

    def fast_fields(self) -> set[str]:
        """``Type.field`` of every field this request read directly (see :meth:`Planner.fast_fields`)."""
        return self.planner.fast_fields()

    # -- graphql-core overrides -----------------------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if position_context is not None or not self._fast:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        return self._run_plan(self.planner.plan(parent_type, grouped_field_set), source_value, path)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: ResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Values of resolver fields: completed here when their shape allows, as stock otherwise."""
        if position_context is None and self._fast:
            completion = self.planner.completion(return_type, field_details_list)
            if completion.kind != OTHER:
                return self._complete(completion, result, path, info, None)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    # -- the fast path --------------------------------------------------------------------------------------------

    def _run_plan(self, plan: Plan, source: Any, path: LazyPath) -> Any:
        """Like ``Executor.execute_fields``: the object's answer, or an awaitable of it; raises what it raises."""
        builder = plan.builder
        if builder is not None:
            built = builder(source, plan.env)
            if built is not None:
                return built
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        typename = plan.typename
        try:
            for step in plan.steps:
                kind = step.kind
                key = step.key
                if kind == PLAIN:
                    assert step.getter is not None
                    try:
                        value = step.getter(source)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, step.return_type, step.field_details_list, Path(realize(path), key, typename)
                        )
                        results[key] = None
                        continue
                    completed = self._complete_field(plan, step, value, path)
                elif kind == TYPENAME:
                    # __typename's resolver answers info.parent_type.name, a str its serializer keeps as it is.
                    results[key] = typename
                    continue
                else:
                    completed = self.execute_field(
                        plan.parent_type, source, step.field_details_list, Path(realize(path), key, typename), None
                    )
                    if completed is Undefined:
                        continue
                results[key] = completed
                if is_awaitable(completed):
                    awaitable_fields.append(key)
        except Exception:
            if awaitable_fields:
                # As stock: awaitables of other fields are settled, since they may fail too.
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise

        return _gathered(results, awaitable_fields) if awaitable_fields else results

    def _complete_field(self, plan: Plan, step: Step, value: Any, path: LazyPath) -> Any:
        """A plain field's value completed as ``Executor.execute_field`` completes a resolved value: the field's answer
        or an awaitable of it; an error is reported at the field's path, which it nulls."""
        completion = step.completion
        assert completion is not None
        if completion.kind == LEAF:  # the most frequent case, before any path or handler is set up
            completed = completion.leaf(value)
            if completed is not Undefined:
                return completed
        return_type = step.return_type
        field_details_list = step.field_details_list
        field_path: LazyPath = (path, step.key, plan.typename)
        info: ResolveInfo | None = None
        try:
            if type(value) is not list and self.is_awaitable(value):  # an exact list is never awaitable
                real = realize(field_path)
                assert real is not None
                info = self._info(step, plan, real)
                return self.complete_awaitable_value(return_type, field_details_list, info, real, value, None)
            completed = self._complete(completion, value, field_path, None, (step, plan))
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, field_path)
        except Exception as raw_error:
            real = realize(field_path)
            assert real is not None
            self.handle_field_error(raw_error, return_type, field_details_list, real)
            return None
        return completed

    async def _await_completed(
        self, completed: Awaitable[Any], return_type: Any, field_details_list: Any, path: LazyPath
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            real = realize(path)
            assert real is not None
            self.handle_field_error(raw_error, return_type, field_details_list, real)
            return None

    def _info(self, step: Step, plan: Plan, path: Path) -> ResolveInfo:
        assert step.field_def is not None
        info: ResolveInfo = self.build_resolve_info(
            step.field_def, to_nodes(step.field_details_list), plan.parent_type, path
        )
        return info

    def _complete(
        self,
        completion: Completion,
        value: Any,
        path: LazyPath,
        info: ResolveInfo | None,
        origin: tuple[Step, Plan] | None,
    ) -> Any:
        """``complete_value``: the same answer, or the same exception; the one implementation for plain fields' values
        (through :meth:`_complete_field`) and resolver fields' values (through :meth:`complete_value`).

        ``info`` is the field's resolve info when the stock path gave one; otherwise ``origin`` builds it on demand,
        only if the stock completion has to take over.
        """
        kind = completion.kind
        if kind == LEAF:
            completed = completion.leaf(value)
            if completed is not Undefined:
                return completed
        elif kind != OTHER and value is not None and not isinstance(value, Exception):
            if kind == OBJECT:
                completed = self._complete_object(completion, value, path)
                if completed is not Undefined:
                    return completed
            elif type(value) is list or type(value) is tuple:
                if kind == LEAF_LIST:
                    completed = self._complete_leaf_list(completion, value)
                    if completed is not Undefined:
                        return completed
                else:
                    return self._complete_object_list(completion, value, path, info, origin)
        if value is None and not completion.non_null:
            return None  # what stock answers for a null in a nullable position, whatever the type
        return self._stock_complete(completion, value, path, info, origin)

    def _stock_complete(
        self,
        completion: Completion,
        value: Any,
        path: LazyPath,
        info: ResolveInfo | None,
        origin: tuple[Step, Plan] | None,
    ) -> Any:
        real = realize(path)
        assert real is not None
        if info is None:
            assert origin is not None
            info = self._info(origin[0], origin[1], real)
        return super().complete_value(completion.return_type, completion.field_details_list, info, real, value, None)

    def _complete_leaf_list(self, completion: Completion, items: list[Any] | tuple[Any, ...]) -> Any:
        """A list of leaves, or Undefined if any item needs the stock path (which then completes the whole list)."""
        fast_type = completion.fast_type
        if fast_type is str or fast_type is bool:
            for item in items:
                if type(item) is not fast_type:
                    break
            else:
                return list(items)
        out: list[Any] = []
        append = out.append
        leaf = completion.leaf
        item_non_null = completion.item_non_null
        for item in items:
            completed = leaf(item)
            if completed is Undefined:
                if item is None and not item_non_null:
                    append(None)
                    continue
                return Undefined
            append(completed)
        return out

    def _object_ok(self, completion: Completion, value: Any) -> bool:
        """Whether the stock path would complete ``value`` as this object type without an error of its own."""
        plain = self._plain_classes.get(type(value))
        if plain is None:
            plain = self._learn_class(type(value))
        if (not plain or "__await__" in value.__dict__) and (self.is_awaitable(value) or isinstance(value, Exception)):
            return False
        is_type_of = completion.is_type_of
        return is_type_of is None or is_type_of(value, None) is True

    def _passes_by_class(self, completion: Completion, value: Any) -> bool:
        """Whether ``value``, which passed :meth:`_object_ok`, passed it by its class: any object of that class passes
        it too whose own ``__dict__`` holds neither ``__await__`` nor what ``is_type_of`` reads of the object itself
        (see :func:`compat.plain_class` and :func:`compat.class_decides_is_type_of`)."""
        cls = type(value)
        if self._plain_classes.get(cls) is not True:
            return False
        is_type_of = completion.is_type_of
        if is_type_of is None:
            return True
        own = value.__dict__
        return not any(name in own for name in IS_TYPE_OF_NAMES) and self.planner.decides(is_type_of, cls)

    def _complete_object(self, completion: Completion, value: Any, path: LazyPath) -> Any:
        """An object's answer (or awaitable), or Undefined when the stock path must take it."""
        if not self._object_ok(completion, value):
            return Undefined
        plan = self.planner.sub_plan(completion)
        if plan is None:
            return Undefined
        return self._run_plan(plan, value, path)

    def _complete_object_list(
        self,
        completion: Completion,
        items: list[Any] | tuple[Any, ...],
        path: LazyPath,
        info: ResolveInfo | None,
        origin: tuple[Step, Plan] | None,
    ) -> Any:
        """``complete_iterable_value`` for a list of objects; items the fast path cannot take go to the stock code."""
        plan = self.planner.sub_plan(completion)
        if plan is None:
            return self._stock_complete(completion, items, path, info, origin)
        item_type = completion.item_type
        item_non_null = completion.item_non_null
        field_details_list = completion.field_details_list
        is_awaitable = self.is_awaitable
        object_ok = self._object_ok
        run_plan = self._run_plan
        builder, env = plan.builder, plan.env
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        # The class of the last item that passed _object_ok, when its checks are decided by the class (see
        # _passes_by_class): a later object of it passes them too unless its own __dict__ holds what they read of the
        # object itself (__await__, and what is_type_of reads), in which case _object_ok checks it in full.
        passed: type | None = None
        checks_type = completion.is_type_of is not None
        cast_name, definition_name = IS_TYPE_OF_NAMES
        try:
            for index, item in enumerate(items):
                item_path: LazyPath = (path, index, None)
                ok = False
                if type(item) is passed:
                    own = item.__dict__
                    ok = "__await__" not in own and not (checks_type and (cast_name in own or definition_name in own))
                if not ok and item is not None and object_ok(completion, item):
                    ok = True
                    if type(item) is not passed and self._passes_by_class(completion, item):
                        passed = type(item)
                if ok:
                    if builder is not None:
                        built = builder(item, env)
                        if built is not None:
                            append(built)
                            continue
                    try:
                        completed = run_plan(plan, item, item_path)
                    except Exception as raw_error:
                        real = realize(item_path)
                        assert real is not None
                        self.handle_field_error(raw_error, item_type, field_details_list, real)
                        append(None)
                        continue
                    if is_awaitable(completed):
                        append(self._await_completed(completed, item_type, field_details_list, item_path))
                        awaitable_indices.append(index)
                    else:
                        append(completed)
                    continue
                if item is None and not item_non_null:
                    append(None)
                    continue
                # An anomaly in this item: the stock per-item code, with the list field's info.
                if info is None:
                    assert origin is not None
                    real_list = realize(path)
                    assert real_list is not None
                    info = self._info(origin[0], origin[1], real_list)
                real = realize(item_path)
                assert real is not None
                if is_awaitable(item):
                    append(
                        self.complete_awaitable_list_item_value(item, item_type, field_details_list, info, real, None)
                    )
                    awaitable_indices.append(index)
                elif self.complete_list_item_value(
                    item, completed_results, item_type, field_details_list, info, real, None
                ):
                    awaitable_indices.append(index)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed_results[i] for i in awaitable_indices])
            raise

        return _gathered(completed_results, awaitable_indices) if awaitable_indices else completed_results


async def _gathered(container: Any, keys: list[Any]) -> Any:
    """``container`` once its awaitable entries (at ``keys``) are awaited, as graphql-core gathers an object's fields
    and a list's items: one is awaited directly, several together (cancelling the others if one fails)."""
    if len(keys) == 1:
        key = keys[0]
        container[key] = await container[key]
    else:
        awaited = await gather_with_cancel(*(container[key] for key in keys))
        for key, value in zip(keys, awaited, strict=True):
            container[key] = value
    return container
