"""A faster execution context for large answers, with results identical to stock graphql-core execution.

Why: graphql-core completes every value of an answer through the same general machinery (``execute_field`` builds a
resolve-info object, calls the resolver through Strawberry's wrapper, then ``complete_value`` walks the type's
wrappers, checks awaitability, builds a response path...). A dashboard answer has thousands of values, and most of
them are *plain* fields: an attribute copied from a record and a scalar that needs no conversion. This module
completes those directly and leaves every other case to the stock code, unchanged.

What is fast (decided once per request per selection, in a *plan* shared by every item of a list):

- a field is *plain* when Strawberry resolves it with its ``_get_basic_result`` closure (no resolver of its own, no
  field extensions, no permission classes, no exception handlers: see ``GraphQLCoreConverter.from_resolver``) and its
  ``StrawberryField.get_result`` is not overridden; its value is ``field.default_resolver(source, python_name)``,
  read here without Strawberry's wrapper and without a resolve-info object. ``_is_default`` is *not* used as the
  marker: it is also true of fields with permission classes;
- scalars whose serializer is the identity for the value's exact type are copied as they are: ``str`` for String and
  ID, ``bool`` for Boolean, a 32-bit ``int`` for Int, a finite ``float`` for Float; enums come from a map computed
  with the enum type's own serializer; other scalars call their serializer, as stock does;
- objects and lists of objects reached through plain fields are completed inline; ``__typename`` is a constant;
- a selection whose every field is one of the above is completed by Python code generated for its shape and cached
  across requests (:func:`object_builder`): leaves, lists of ``str``/``bool``, nested objects and one level of nested
  lists of objects, with the same checks as the interpreted plan; at the first value it cannot take, it gives up and
  the interpreted plan completes that object from the start;
- response paths are built only when something goes wrong (an error needs its path) or when a resolver field needs
  one (``info.path``).

Everything else takes the stock path, unchanged: fields with resolvers (their *values* are still completed here when
the shape allows), abstract types, nested lists, directives other than ``@skip``/``@include`` (``@stream``), deferred
fragments, schemas with a middleware (any extension with a ``resolve`` hook turns the fast path off), and every
anomaly: a null in a non-null position, an exception or awaitable as a value, a value the serializer refuses, a
failed ``is_type_of``. For an anomaly the stock completion runs from the value already read, so errors carry the same
message, path and locations as stock execution. ``tests/performance/test_fastexec_equivalence.py`` runs a corpus of
queries through both and compares the serialized answers byte for byte.

Awaitability of objects is checked per object, exactly (an ``__await__`` set on one instance is seen): for an object
of a *plain class* (see :func:`plain_class`: no ``__await__``, ``__getattr__`` or custom attribute look-up anywhere
in its class, not an exception) the check is whether its own ``__dict__`` holds ``__await__``, which is what
``is_awaitable`` answers for it; any other object goes through ``is_awaitable`` itself.

This leans on private APIs of both libraries (graphql-core 3.3 renamed and re-signed parts of its executor), so the
versions are pinned and checked at import: with any other version :data:`FAST_EXECUTION_AVAILABLE` is false, and
``gateway.execution.execution_context_class`` gives the schema the stock executor (as it does if this module cannot
even be imported because an upgrade moved a private name).
"""

from __future__ import annotations

import functools
import importlib.metadata
import keyword
import logging
from collections.abc import Awaitable, Callable
from math import isfinite
from operator import attrgetter
from types import CoroutineType, GeneratorType, GetSetDescriptorType
from typing import Any, Final

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
)
from graphql.pyutils import Path, Undefined

log = logging.getLogger("hookgate.fastexec")

#: The exact versions whose private execution APIs this module was written and verified against.
PINNED_VERSIONS: Final = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}


def _installed_versions() -> dict[str, str]:
    found = {}
    for name in PINNED_VERSIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


INSTALLED_VERSIONS: Final = _installed_versions()
FAST_EXECUTION_AVAILABLE: Final = INSTALLED_VERSIONS == PINNED_VERSIONS

if not FAST_EXECUTION_AVAILABLE:  # pragma: no cover - only with other library versions
    log.warning(
        "fast execution disabled: it is verified against %s, found %s; using stock execution",
        PINNED_VERSIONS,
        INSTALLED_VERSIONS,
    )

# Private names of both libraries. If an upgrade moves one, importing this module fails, and
# ``gateway.execution.execution_context_class`` (the only importer in the app) falls back to stock execution.
from graphql.execution.executor import to_nodes  # noqa: E402
from graphql.pyutils import gather_with_cancel  # noqa: E402
from graphql.pyutils import is_awaitable as graphql_is_awaitable  # noqa: E402
from graphql.type.scalars import (  # noqa: E402
    serialize_boolean,
    serialize_float,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.execution import optimized_is_awaitable  # noqa: E402
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext  # noqa: E402
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter  # noqa: E402
from strawberry.types.field import StrawberryField  # noqa: E402

GRAPHQL_MIN_INT = -(2**31)
GRAPHQL_MAX_INT = 2**31 - 1

# Where Strawberry defines the closures this module recognises (checked by qualified name and module, since they are
# local functions: there is no object to compare with).
_CONVERTER_MODULE = "strawberry.schema.schema_converter"
_BASIC_RESULT = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
_IS_TYPE_OF = (
    "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of",
    "GraphQLCoreConverter._get_is_type_of.<locals>.is_type_of",
)
#: Directives fully handled while collecting fields; any other directive on a field sends it to the stock path.
_COLLECT_DIRECTIVES = frozenset({"skip", "include"})

# Completion kinds.
_OTHER, _LEAF, _LEAF_LIST, _OBJECT, _OBJECT_LIST = range(5)
# Step kinds.
_STOCK, _PLAIN, _TYPENAME = range(3)

#: graphql-core's resolve info (generic in its context type, which this module never looks into).
ResolveInfo = GraphQLResolveInfo[Any]
#: A response path not built yet: (previous, key, typename), where previous is a Path, another such tuple, or None.
LazyPath = Any


def _realize(path: LazyPath) -> Path | None:
    """The graphql-core Path of a lazy path (built only when an error or a resolver needs it)."""
    if path is None or isinstance(path, Path):
        return path
    prev, key, typename = path
    return Path(_realize(prev), key, typename)


def plain_field_getter(field_def: GraphQLField) -> Callable[[Any], Any] | None:
    """How to read a plain field's value without Strawberry's wrapper, or None if the field is not plain."""
    plain = _plain_field(field_def)
    return None if plain is None else plain[0]


def _plain_field(field_def: GraphQLField) -> tuple[Callable[[Any], Any], str | None] | None:
    """(getter, attribute name when the getter is plain ``getattr``), or None if the field is not plain.

    A plain field's resolver is Strawberry's ``_get_basic_result`` closure over the field, which returns
    ``field.get_result(source, info=None, args=[], kwargs={})``, that is ``field.default_resolver(source,
    field.python_name)``. ``default_resolver`` is written onto the (shared) field object by each schema build, so it
    is read here, per request, not cached across requests.
    """
    resolve = field_def.resolve
    if resolve is None or getattr(resolve, "__module__", None) != _CONVERTER_MODULE:
        return None
    if getattr(resolve, "__qualname__", None) != _BASIC_RESULT:
        return None
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    closure = resolve.__closure__ or ()
    names = resolve.__code__.co_freevars
    if "field" not in names or closure[names.index("field")].cell_contents is not field:
        return None
    if not isinstance(field, StrawberryField) or type(field).get_result is not StrawberryField.get_result:
        return None
    if field.base_resolver is not None or field.extensions or field.permission_classes:
        return None
    default_resolver = field.default_resolver
    name = field.python_name
    if default_resolver is getattr:
        return attrgetter(name), name
    return (lambda source: default_resolver(source, name)), None


def _identity_type(leaf: GraphQLScalarType | GraphQLEnumType) -> type | None:
    """The exact Python type whose values the leaf's serializer returns unchanged (further checks for int/float)."""
    coerce = getattr(leaf, "coerce_output_value", None)
    if coerce is serialize_string or coerce is serialize_id:
        return str
    if coerce is serialize_boolean:
        return bool
    if coerce is serialize_int:
        return int
    if coerce is serialize_float:
        return float
    return None


def _safe_is_type_of(object_type: GraphQLObjectType) -> tuple[bool, Callable[[Any, Any], Any] | None]:
    """(usable, is_type_of). Strawberry's own ``is_type_of`` closures ignore ``info``, so they may run without one."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return True, None
    if getattr(is_type_of, "__module__", None) == _CONVERTER_MODULE and is_type_of.__qualname__ in _IS_TYPE_OF:
        return True, is_type_of
    return False, None


#: The awaitability checks whose answer for an object of a plain class :func:`plain_class` describes.
_KNOWN_IS_AWAITABLE = (optimized_is_awaitable, graphql_is_awaitable)


def plain_class(cls: type) -> bool:
    """Whether, for an object ``obj`` of exactly this class, both ``optimized_is_awaitable(obj)`` (Strawberry's) and
    graphql-core's ``is_awaitable(obj)`` equal ``"__await__" in obj.__dict__``, and ``isinstance(obj, Exception)`` is
    false.

    Both checks are ``isinstance(obj, CoroutineType)``, ``isinstance(obj, GeneratorType)`` (and a flag) and
    ``hasattr(obj, "__await__")``. For a class made by ``type`` (no metaclass to change look-ups), not a coroutine,
    generator or exception class, with object's ``__getattribute__``, no ``__getattr__``, no ``__class__`` of its own
    and no ``__await__`` anywhere in its MRO, and whose instances have an ordinary ``__dict__``: the two
    ``isinstance`` calls are false (``obj.__class__`` is the class itself), and attribute look-up finds ``__await__``
    only in the instance's ``__dict__``.
    """
    if type(cls) is not type or issubclass(cls, BaseException | CoroutineType | GeneratorType):
        return False
    if cls.__getattribute__ is not object.__getattribute__:
        return False
    dict_descriptor: Any = None
    for klass in cls.__mro__:
        names = vars(klass)
        if "__await__" in names or "__getattr__" in names or ("__class__" in names and klass is not object):
            return False
        if dict_descriptor is None and "__dict__" in names:
            dict_descriptor = names["__dict__"]
    return isinstance(dict_descriptor, GetSetDescriptorType)


def _plain_directives(field_details_list: Any) -> bool:
    for details in field_details_list:
        if details.fragment_variable_values is not None:
            return False
        for directive in details.node.directives or ():
            if directive.name.value not in _COLLECT_DIRECTIVES:
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
        self.kind = _OTHER
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
        if not _plain_directives(field_details_list):
            return
        inner: Any = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if isinstance(inner, GraphQLList):
            self.item_type = inner.of_type
            self.item_non_null = isinstance(inner.of_type, GraphQLNonNull)
            item = inner.of_type.of_type if self.item_non_null else inner.of_type
            if self._set_leaf(item):
                self.kind = _LEAF_LIST
            elif self._set_object(item):
                self.kind = _OBJECT_LIST
        elif self._set_leaf(inner):
            self.kind = _LEAF
        elif self._set_object(inner):
            self.kind = _OBJECT

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
            self.fast_type = _identity_type(leaf)
            self.coerce = leaf.coerce_output_value
            return True
        return False

    def _set_object(self, object_type: Any) -> bool:
        if not isinstance(object_type, GraphQLObjectType):
            return False  # abstract types resolve their runtime type with info: stock
        usable, is_type_of = _safe_is_type_of(object_type)
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
        self.inline: tuple[tuple[str, ...], ...] | None = None


#: Generated code for a selection: ``builder(source, env)`` is the object's answer, or None when any value needs more
#: than the checks it makes (then the interpreted plan completes the object, as stock would, from the start).
Builder = Callable[[Any, tuple[Any, ...]], dict[str, Any] | None]

#: Item types of a list of leaves that a builder copies (each item checked for its exact type).
_LIST_ITEM_TYPES = (str, bool)


def object_builder(plan: Plan, checks: ObjectChecks) -> tuple[Builder, tuple[Any, ...], bool] | None:
    """(builder, env, loops) for a plan whose every step the generated code can complete; None for any other plan.

    A step qualifies when it is ``__typename``, or a plain field read with plain ``getattr`` whose value is:

    - a leaf copied as it is (or mapped, for an enum), as :meth:`Completion.leaf` copies it;
    - a list (or tuple) of ``str`` or ``bool`` leaves, copied into a new list as ``_complete_leaf_list`` does;
    - an object whose selection has a builder, completed by it after the checks of ``_object_ok``;
    - a list of such objects, provided their builder loops over no list of objects itself: a builder gives up on the
      whole object at the first item it cannot take, and redoing at most one level of list keeps that waste small
      (a page of webhooks is completed item by item by the interpreted plan, each webhook by its builder).

    The code only reads attributes, checks exact types and makes the side-effect-free checks of the interpreted path
    (awaitability as ``checks`` makes it, exceptions, Strawberry's own ``is_type_of``), so giving up half way (a value
    of another type, a null in a non-null position, an awaitable, an attribute that raises) and completing the object
    with the interpreted plan instead gives exactly the stock answer. Values are read first and nested objects
    completed after, so that a give-up usually costs only the reads. The function is cached across requests by the
    shape of the selection (keys, attributes, checks); what varies per schema or request (an enum's map, nested
    builders, the ``is_type_of`` closures, the awaitability checks) is passed in ``env``.
    """
    shape: list[tuple[str, ...]] = []
    env: list[Any] = []
    loops = False
    for step in plan.steps:
        if step.kind == _TYPENAME:
            shape.append((step.key, "typename", plan.typename))
            continue
        completion = step.completion
        attr = step.attr
        if step.kind != _PLAIN or completion is None or attr is None:
            return None
        if not attr.isidentifier() or keyword.iskeyword(attr):
            return None
        null = "nullable" if not completion.non_null else "non-null"
        kind = completion.kind
        if kind == _LEAF:
            if completion.enum_cls is not None and completion.enum_map:
                shape.append((step.key, attr, null, "enum", str(len(env))))
                env.extend((completion.enum_cls, completion.enum_map))
            elif completion.fast_type in (str, bool, int, float):
                assert completion.fast_type is not None
                shape.append((step.key, attr, null, completion.fast_type.__name__))
            else:
                return None
        elif kind == _LEAF_LIST:
            if completion.fast_type not in _LIST_ITEM_TYPES:
                return None
            assert completion.fast_type is not None
            item_null = "non-null" if completion.item_non_null else "nullable"
            shape.append((step.key, attr, null, "leaves", item_null, completion.fast_type.__name__))
        elif kind in (_OBJECT, _OBJECT_LIST):
            sub_plan = completion.sub_plan
            if sub_plan is None or sub_plan.builder is None:
                return None
            typed = "checked" if completion.is_type_of is not None else "unchecked"
            inline: Any = sub_plan.inline or ()
            if kind == _OBJECT_LIST:
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
    return _compile_builder(tuple(shape)), tuple(env), loops


def inline_shape(plan: Plan) -> tuple[tuple[str, ...], ...] | None:
    """The plan's builder shape if a parent builder may write it inline: leaves of exact types only, no ``env``."""
    if plan.builder is None or plan.env:
        return None
    shape: list[tuple[str, ...]] = []
    for step in plan.steps:
        if step.kind == _TYPENAME:
            shape.append((step.key, "typename", plan.typename))
            continue
        completion = step.completion
        if completion is None or completion.kind != _LEAF or completion.enum_cls is not None or step.attr is None:
            return None
        if completion.fast_type not in (str, bool, int, float):
            return None
        assert completion.fast_type is not None
        null = "nullable" if not completion.non_null else "non-null"
        shape.append((step.key, step.attr, null, completion.fast_type.__name__))
    return tuple(shape)


#: What a builder needs to check that an object is not awaitable, as the interpreted path checks it: the context's
#: ``is_awaitable``, its map of classes to whether they are plain (:func:`plain_class`), and the function that fills it.
ObjectChecks = tuple[Callable[[Any], bool], dict[type, bool], Callable[[type], bool]]


def _check_object(
    lines: list[str], indent: str, var: str, typed: str, inline: Any, names: tuple[str, str, str, str, str, str]
) -> None:
    """Code giving up unless ``var`` passes ``_object_ok``, then completing it with the nested builder (or its code,
    written here when ``inline`` holds its shape). ``names``: the expressions for the nested builder, its env, its
    ``is_type_of``, ``is_awaitable``, the map of plain classes and the function that fills it."""
    sub, sub_env, is_type_of, is_awaitable, known, learn = names
    lines.append(f"{indent}plain = {known}.get(type({var}))")
    lines.append(f"{indent}if plain is None:")
    lines.append(f"{indent}    plain = {learn}(type({var}))")
    lines.append(f"{indent}if (not plain or '__await__' in {var}.__dict__) and (")
    lines.append(f"{indent}    {is_awaitable}({var}) or isinstance({var}, Exception)")
    lines.append(f"{indent}):")
    lines.append(f"{indent}    return None")
    if typed == "checked":
        lines.append(f"{indent}if {is_type_of}({var}, None) is not True:")
        lines.append(f"{indent}    return None")
    if inline:
        values = []
        for index, item in enumerate(inline):
            key = item[0]
            if item[1] == "typename":
                values.append(f"{key!r}: {item[2]!r}")
                continue
            _key, attr, null, check = item
            leaf = f"w{index}"
            values.append(f"{key!r}: {leaf}")
            lines.append(f"{indent}{leaf} = {var}.{attr}")
            lines.append(f"{indent}if {_leaf_refused(leaf, null, check)}:")
            lines.append(f"{indent}    return None")
        lines.append(f"{indent}{var} = {{" + ", ".join(values) + "}")
        return
    lines.append(f"{indent}{var} = {sub}({var}, {sub_env})")
    lines.append(f"{indent}if {var} is None:")
    lines.append(f"{indent}    return None")


def _leaf_refused(var: str, null: str, check: str) -> str:
    """The condition under which a leaf of exact type ``check`` (str, bool, int, float) is not copied as it is."""
    guard = "" if null == "non-null" else f"{var} is not None and "
    condition = f"type({var}) is not {check}"
    if check == "int":
        condition += f" or not {GRAPHQL_MIN_INT} <= {var} <= {GRAPHQL_MAX_INT}"
    elif check == "float":
        condition += f" or {var} - {var} != 0.0"  # NaN and infinities are not finite: stock refuses them
    return f"{guard}({condition})"


@functools.lru_cache(maxsize=512)
def _compile_builder(shape: tuple[tuple[str, ...], ...]) -> Builder:
    """Python source for one selection shape, compiled once (bounded: a server sees few distinct selections)."""
    lines = ["def build(source, env):", "    try:", "        pass"]  # a selection of __typename only reads nothing
    nested: list[str] = []  # completions of nested objects, after every value of this object has been read
    values = []
    for index, item in enumerate(shape):
        key = item[0]
        if item[1] == "typename":
            values.append(f"{key!r}: {item[2]!r}")
            continue
        _key, attr, null, check, *rest = item
        var = f"v{index}"
        values.append(f"{key!r}: {var}")
        lines.append(f"        {var} = source.{attr}")
        guard = "" if null == "non-null" else f"{var} is not None and "
        if check == "enum":
            slot = int(rest[0])
            lines.append(f"        if {guard}type({var}) is not env[{slot}]:")
            lines.append("            return None")
            lines.append(f"        if {var} is not None:")
            lines.append(f"            {var} = env[{slot + 1}][{var}]")
        elif check == "leaves":
            item_null, item_type = rest
            lines.append(f"        if {guard}type({var}) is not list and type({var}) is not tuple:")
            lines.append("            return None")
            lines.append(f"        if {var} is not None:")
            lines.append(f"            for x in {var}:")
            item_guard = "" if item_null == "non-null" else "x is not None and "
            lines.append(f"                if {item_guard}type(x) is not {item_type}:")
            lines.append("                    return None")
            lines.append(f"            {var} = list({var})")
        elif check == "object":
            typed, slot_text, inline = rest
            slot = int(slot_text)
            if null == "non-null":
                lines.append(f"        if {var} is None:")
                lines.append("            return None")
            nested.append(f"        if {var} is not None:")
            names = tuple(f"env[{slot + offset}]" for offset in range(6))
            _check_object(nested, " " * 12, var, typed, inline, names)  # type: ignore[arg-type]
        elif check == "objects":
            item_null, typed, slot_text, inline = rest
            slot = int(slot_text)
            lines.append(f"        if {guard}type({var}) is not list and type({var}) is not tuple:")
            lines.append("            return None")
            nested.append(f"        if {var} is not None:")
            # What every item needs, read from env once per list rather than once per item.
            nested.append(f"            sub, sub_env, is_type_of, is_awaitable, known, learn = env[{slot}:{slot + 6}]")
            nested.append("            out = []")
            nested.append("            append = out.append")
            nested.append(f"            for x in {var}:")
            nested.append("                if x is None:")
            if item_null == "non-null":
                nested.append("                    return None")
            else:
                nested.append("                    append(None)")
                nested.append("                    continue")
            names = ("sub", "sub_env", "is_type_of", "is_awaitable", "known", "learn")
            _check_object(nested, " " * 16, "x", typed, inline, names)
            nested.append("                append(x)")
            nested.append(f"            {var} = out")
        else:
            lines.append(f"        if {_leaf_refused(var, null, check)}:")
            lines.append("            return None")
    lines.extend(nested)
    lines.append("    except Exception:")  # an attribute that raises: the interpreted plan reports it
    lines.append("        return None")
    lines.append("    return {" + ", ".join(values) + "}")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<hookgate fastexec builder>", "exec"), namespace)  # noqa: S102 - our own code
    builder: Builder = namespace["build"]
    return builder


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the fast path described in the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A middleware (an extension with a resolve() hook) must see every field: then nothing is fast.
        self._fast = manager is None or not manager._middleware_resolvers
        self._plans: dict[tuple[int, int], Plan] = {}
        self._completions: dict[tuple[int, int], tuple[Any, Completion]] = {}
        #: Classes of the objects met in this request, and whether each is plain (learnt per request, so that a class
        #: changed at run time is seen by the next request).
        self._plain_classes: dict[type, bool] = {}
        self._knows_is_awaitable = self.is_awaitable in _KNOWN_IS_AWAITABLE

    def _learn_class(self, cls: type) -> bool:
        """Whether objects of ``cls`` take the plain-class awaitability check (see :func:`plain_class`)."""
        plain = self._plain_classes[cls] = self._knows_is_awaitable and plain_class(cls)
        return plain

    # -- plans ----------------------------------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        key = (id(parent_type), id(grouped_field_set))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._build_plan(parent_type, grouped_field_set)
        return plan

    def _build_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan:
        steps: list[Step] = []
        schema = self.schema
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_name = node.name.value
            field_def = schema.get_field(parent_type, field_name)
            if field_def is None or not _plain_directives(field_details_list) or node.arguments:
                steps.append(Step(_STOCK, response_name, field_details_list, field_def))
                continue
            if field_name == "__typename":
                steps.append(Step(_TYPENAME, response_name, field_details_list, field_def))
                continue
            plain = _plain_field(field_def) if not field_def.args else None
            if plain is None:
                steps.append(Step(_STOCK, response_name, field_details_list, field_def))
                continue
            step = Step(_PLAIN, response_name, field_details_list, field_def)
            step.getter, step.attr = plain
            step.completion = completion = self._completion(field_def.type, field_details_list)
            if completion.kind in (_OBJECT, _OBJECT_LIST):
                self._sub_plan(completion)  # made now, for the builder below (it would be at the first value)
            steps.append(step)
        plan = Plan(parent_type, grouped_field_set, steps)
        made = object_builder(plan, (self.is_awaitable, self._plain_classes, self._learn_class))
        if made is not None:
            plan.builder, plan.env, plan.loops = made
            plan.inline = inline_shape(plan)
        return plan

    def _completion(self, return_type: GraphQLOutputType, field_details_list: Any) -> Completion:
        key = (id(return_type), id(field_details_list))
        cached = self._completions.get(key)
        if cached is None:
            # The field details list is kept alive with the entry so that its id is not reused during the request.
            completion = Completion(return_type, field_details_list, self.is_awaitable)
            cached = self._completions[key] = (field_details_list, completion)
        return cached[1]

    def _sub_plan(self, completion: Completion) -> Plan | None:
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
            plan = completion.sub_plan = self._plan(object_type, grouped_field_set)
        return plan

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
        return self._run_plan(self._plan(parent_type, grouped_field_set), source_value, path)

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
            completion = self._completion(return_type, field_details_list)
            if completion.kind != _OTHER:
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
                if kind == _PLAIN:
                    completion = step.completion
                    assert completion is not None
                    assert step.getter is not None
                    try:
                        value = step.getter(source)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, step.return_type, step.field_details_list, Path(_realize(path), key, typename)
                        )
                        results[key] = None
                        continue
                    shape = completion.kind
                    if shape == _LEAF:
                        completed = completion.leaf(value)
                        if completed is not Undefined:
                            results[key] = completed
                            continue
                    elif type(value) is list:  # an exact list is neither awaitable nor an exception
                        if shape == _LEAF_LIST:
                            completed = self._complete_leaf_list(completion, value)
                            if completed is not Undefined:
                                results[key] = completed
                                continue
                        elif shape == _OBJECT_LIST:
                            field_path: LazyPath = (path, key, typename)
                            try:
                                completed = self._complete_object_list(
                                    completion, value, field_path, None, (step, plan)
                                )
                            except Exception as raw_error:  # as execute_field: the list field's own error
                                real = _realize(field_path)
                                assert real is not None
                                self.handle_field_error(raw_error, step.return_type, step.field_details_list, real)
                                results[key] = None
                                continue
                            if type(completed) is not list:
                                completed = self._await_completed(
                                    completed, step.return_type, step.field_details_list, field_path
                                )
                                awaitable_fields.append(key)
                            results[key] = completed
                            continue
                    if value is None and not completion.non_null:
                        results[key] = None
                        continue
                    completed = self._complete_field(plan, step, value, path)
                elif kind == _TYPENAME:
                    # __typename's resolver answers info.parent_type.name, a str its serializer keeps as it is.
                    results[key] = typename
                    continue
                else:
                    completed = self.execute_field(
                        plan.parent_type, source, step.field_details_list, Path(_realize(path), key, typename), None
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

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await results[name]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _complete_field(self, plan: Plan, step: Step, value: Any, path: LazyPath) -> Any:
        """A plain field's value completed as ``Executor.execute_field`` completes a resolved value."""
        completion = step.completion
        assert completion is not None
        return_type = step.return_type
        field_details_list = step.field_details_list
        field_path: LazyPath = (path, step.key, plan.typename)
        info: ResolveInfo | None = None
        try:
            if self.is_awaitable(value):
                real = _realize(field_path)
                assert real is not None
                info = self._info(step, plan, real)
                return self.complete_awaitable_value(return_type, field_details_list, info, real, value, None)
            completed = self._complete(completion, value, field_path, None, (step, plan))
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, field_path)
        except Exception as raw_error:
            real = _realize(field_path)
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
            real = _realize(path)
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
        """``complete_value`` for a completion kind other than _OTHER: the same answer, or the same exception.

        ``info`` is the field's resolve info when the stock path gave one; otherwise ``origin`` builds it on demand,
        only if the stock completion has to take over.
        """
        kind = completion.kind
        if kind == _LEAF:
            completed = completion.leaf(value)
            if completed is not Undefined:
                return completed
        elif kind == _OTHER:
            pass
        elif value is not None and not isinstance(value, Exception):
            if kind == _OBJECT:
                completed = self._complete_object(completion, value, path)
                if completed is not Undefined:
                    return completed
            elif type(value) is list or type(value) is tuple:
                if kind == _LEAF_LIST:
                    completed = self._complete_leaf_list(completion, value)
                    if completed is not Undefined:
                        return completed
                else:
                    return self._complete_object_list(completion, value, path, info, origin)
        elif value is None and not completion.non_null:
            return None
        return self._stock_complete(completion, value, path, info, origin)

    def _stock_complete(
        self,
        completion: Completion,
        value: Any,
        path: LazyPath,
        info: ResolveInfo | None,
        origin: tuple[Step, Plan] | None,
    ) -> Any:
        real = _realize(path)
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

    def _complete_object(self, completion: Completion, value: Any, path: LazyPath) -> Any:
        """An object's answer (or awaitable), or Undefined when the stock path must take it."""
        if not self._object_ok(completion, value):
            return Undefined
        plan = self._sub_plan(completion)
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
        plan = self._sub_plan(completion)
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
        try:
            for index, item in enumerate(items):
                item_path: LazyPath = (path, index, None)
                if item is not None and object_ok(completion, item):
                    if builder is not None:
                        built = builder(item, env)
                        if built is not None:
                            append(built)
                            continue
                    try:
                        completed = run_plan(plan, item, item_path)
                    except Exception as raw_error:
                        real = _realize(item_path)
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
                    real_list = _realize(path)
                    assert real_list is not None
                    info = self._info(origin[0], origin[1], real_list)
                real = _realize(item_path)
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

        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                index = awaitable_indices[0]
                completed_results[index] = await completed_results[index]
            else:
                awaited = await gather_with_cancel(*(completed_results[i] for i in awaitable_indices))
                for index, sub_result in zip(awaitable_indices, awaited, strict=True):
                    completed_results[index] = sub_result
            return completed_results

        return get_completed_results()


__all__ = [
    "FAST_EXECUTION_AVAILABLE",
    "INSTALLED_VERSIONS",
    "PINNED_VERSIONS",
    "FastExecutionContext",
    "plain_field_getter",
]
