"""Everything the fast execution path takes from strawberry-graphql and graphql-core beyond their public API.

The fast path leans on private names and on knowledge of how both libraries behave inside (graphql-core 3.3 renamed
and re-signed parts of its executor), so this module is the one place that knows them:

- the versions it was written and verified against (:data:`PINNED_VERSIONS`), checked at import: with any other
  version :data:`FAST_EXECUTION_AVAILABLE` is false and :func:`gateway.execution.execution_context_class` gives the
  schema stock execution;
- every private import: if an upgrade moves one, importing this module fails, and ``execution_context_class`` (which
  imports the package lazily) falls back to stock execution as well;
- the recognition of Strawberry's own resolver and ``is_type_of`` closures, by qualified name and module;
- the facts about both libraries' awaitability checks that :func:`plain_class` relies on.

The rest of ``gateway/execution/`` imports these names from here and nothing private from either library.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from operator import attrgetter
from types import CoroutineType, GeneratorType, GetSetDescriptorType
from typing import Any, Final

from graphql import GraphQLEnumType, GraphQLField, GraphQLObjectType, GraphQLScalarType

log = logging.getLogger("hookgate.execution")

#: The exact versions whose private execution APIs the fast path was written and verified against.
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

# Private names of both libraries. If an upgrade moves one, importing this module fails (see the docstring).
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
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE  # noqa: E402
from strawberry.types.field import StrawberryField  # noqa: E402

GRAPHQL_MIN_INT: Final = -(2**31)
GRAPHQL_MAX_INT: Final = 2**31 - 1

# Strawberry's resolver for a plain field and its is_type_of are closures made inside GraphQLCoreConverter: there is
# no object to compare a field's resolver with, so they are recognised by module and qualified name (and, for the
# resolver, by the field it closes over). A Strawberry upgrade that renames them only makes fields take the stock path.
_CONVERTER_MODULE = "strawberry.schema.schema_converter"
_BASIC_RESULT = "GraphQLCoreConverter.from_resolver.<locals>._get_basic_result"
_IS_TYPE_OF = (
    "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of",
    "GraphQLCoreConverter._get_is_type_of.<locals>.is_type_of",
)


def plain_field(field_def: GraphQLField) -> tuple[Callable[[Any], Any], str | None] | None:
    """(getter, attribute name when the getter is plain ``getattr``), or None if the field is not plain.

    A field is plain when Strawberry resolves it with its ``_get_basic_result`` closure (no resolver of its own, no
    field extensions, no permission classes, no exception handlers: see ``GraphQLCoreConverter.from_resolver``) and
    its ``StrawberryField.get_result`` is not overridden. That closure returns ``field.get_result(source, info=None,
    args=[], kwargs={})``, that is ``field.default_resolver(source, field.python_name)``. ``_is_default`` is *not* the
    marker: it is also true of fields with permission classes. ``default_resolver`` is written onto the (shared)
    field object by each schema build, so it is read here, per request, not cached across requests.
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


def plain_field_getter(field_def: GraphQLField) -> Callable[[Any], Any] | None:
    """How to read a plain field's value without Strawberry's wrapper, or None if the field is not plain."""
    plain = plain_field(field_def)
    return None if plain is None else plain[0]


def safe_is_type_of(object_type: GraphQLObjectType) -> tuple[bool, Callable[[Any, Any], Any] | None]:
    """(usable, is_type_of). Strawberry's own ``is_type_of`` closures ignore ``info``, so they may run without one."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return True, None
    if getattr(is_type_of, "__module__", None) == _CONVERTER_MODULE and is_type_of.__qualname__ in _IS_TYPE_OF:
        return True, is_type_of
    return False, None


#: The attributes of the object itself that Strawberry's ``is_type_of`` reads: the cast ``strawberry.cast`` sets on
#: an instance, and the type definition (read through ``has_object_definition`` for generic types).
IS_TYPE_OF_NAMES: Final = (TYPE_CAST_ATTRIBUTE, "__strawberry_definition__")


def class_decides_is_type_of(is_type_of: Callable[[Any, Any], Any], cls: type) -> bool:
    """Whether Strawberry's ``is_type_of`` closure (see :func:`safe_is_type_of`) gives one answer for every object of
    exactly ``cls`` whose ``__dict__`` holds neither of :data:`IS_TYPE_OF_NAMES`, so that one object's answer stands
    for all of them. ``cls`` must be a plain class (:func:`plain_class`).

    The closure answers from ``getattr(obj, TYPE_CAST_ATTRIBUTE, None)``, then (for a generic type) from
    ``obj.__strawberry_definition__``, then from ``isinstance(obj, possible_types)``. For an object of a plain class
    without either name in its ``__dict__``, the two look-ups find the class's attributes (or nothing), which are the
    same for every such object unless one is a descriptor, whose answer could depend on the object: none may be. And
    ``isinstance`` looks at the class only (``obj.__class__`` is the class itself) when every possible type's
    metaclass is ``type`` (no ``__instancecheck__`` of its own).
    """
    code = getattr(is_type_of, "__code__", None)
    closure = getattr(is_type_of, "__closure__", None) or ()
    if code is None or is_type_of.__qualname__ not in _IS_TYPE_OF:
        return False
    cells = dict(zip(code.co_freevars, closure, strict=True))
    for name in ("possible_types", "possible_cast_types"):
        cell = cells.get(name)
        if cell is None:
            return False  # another closure than the one described: no shortcut
        types = cell.cell_contents
        if not isinstance(types, tuple) or not all(type(t) is type for t in types):
            return False
    for name in IS_TYPE_OF_NAMES:
        for klass in cls.__mro__:
            if name in vars(klass):
                if hasattr(type(vars(klass)[name]), "__get__"):
                    return False
                break
    return True


def identity_type(leaf: GraphQLScalarType | GraphQLEnumType) -> type | None:
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


def has_middleware(context: StrawberryGraphQLCoreExecutionContext) -> bool:
    """Whether the execution runs a middleware (an extension with a ``resolve()`` hook), which must see every field."""
    manager = context.middleware_manager
    return manager is not None and bool(manager._middleware_resolvers)


#: The awaitability checks whose answer for an object of a plain class :func:`plain_class` describes.
KNOWN_IS_AWAITABLE = (optimized_is_awaitable, graphql_is_awaitable)


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


__all__ = [
    "FAST_EXECUTION_AVAILABLE",
    "GRAPHQL_MAX_INT",
    "GRAPHQL_MIN_INT",
    "INSTALLED_VERSIONS",
    "IS_TYPE_OF_NAMES",
    "KNOWN_IS_AWAITABLE",
    "PINNED_VERSIONS",
    "CustomGraphQLEnumType",
    "StrawberryGraphQLCoreExecutionContext",
    "class_decides_is_type_of",
    "gather_with_cancel",
    "has_middleware",
    "identity_type",
    "plain_class",
    "plain_field",
    "plain_field_getter",
    "safe_is_type_of",
    "to_nodes",
]
