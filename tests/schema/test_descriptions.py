"""Everything GraphiQL's docs pane shows is described: types, fields, arguments and input fields."""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    specified_scalar_types,
)
from graphql.type.introspection import introspection_types

from schema.schema import build_schema


def _blank(description: str | None) -> bool:
    return description is None or not description.strip()


def undescribed(types: dict[str, GraphQLNamedType]) -> list[str]:
    """Every type, field, argument and input field without a description, as ``Type``, ``Type.field`` and
    ``Type.field(argument)``; introspection types and the built-in scalars excepted."""
    missing: list[str] = []
    for name, named in sorted(types.items()):
        if name in introspection_types or name in specified_scalar_types:
            continue
        if _blank(named.description):
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if _blank(field.description):
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({a})" for a, arg in field.args.items() if _blank(arg.description)]
        elif isinstance(named, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in named.fields.items() if _blank(field.description)]
        else:
            assert isinstance(named, GraphQLEnumType | GraphQLScalarType | GraphQLUnionType), name
    return missing


def test_every_type_field_argument_and_input_field_is_described() -> None:
    missing = undescribed(build_schema()._schema.type_map)
    assert not missing, f"{len(missing)} undescribed: " + ", ".join(missing)


def test_date_time_says_and_does_what_an_input_without_offset_means() -> None:
    date_time = build_schema()._schema.type_map["DateTime"]
    assert isinstance(date_time, GraphQLScalarType)
    assert date_time.description is not None
    assert "without an offset" in date_time.description
    assert "UTC" in date_time.description
    assert date_time.parse_value("2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert date_time.parse_value("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_the_check_names_what_lacks_a_description() -> None:
    # The walk itself: an undescribed type, field, argument and input field are each named.
    from graphql import build_schema as from_sdl

    sdl = '''
        """Described."""
        type Query { a(x: Int): Int, """Described.""" b: Int }
        input In { y: Int }
        """Described."""
        scalar DateTime
    '''
    types = from_sdl(sdl).type_map
    assert undescribed(types) == ["In", "In.y", "Query.a", "Query.a(x)"]
