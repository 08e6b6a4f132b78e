"""Bounds on what an input value may hold, checked before any resolver, cache key or log line sees it.

- ``JSON`` inputs nest at most :data:`MAX_JSON_DEPTH` levels. Deeper values are refused as BAD_USER_INPUT while the
  variables are coerced: JSON encoders stop at 255 levels (orjson), and an input nested that deep once reached a
  provider call, an idempotency fingerprint and a 165 KB log line.
- Number literals (``Int``, ``Float``, and numbers inside a ``JSON`` literal) have at most
  :data:`MAX_NUMBER_CHARS` characters. Python's ``int()`` refuses more than 4,300 digits (and takes quadratic time
  up to it); graphql-core would answer that as an internal error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import DocumentNode, FloatValueNode, GraphQLError, IntValueNode, ValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.schema.types.base_scalars import DateTimeDefinition

from gateway.extensions import find_in_document

#: Levels a JSON input may nest (an object or list counts one level); well past any payload we forward.
MAX_JSON_DEPTH = 64
#: Characters a number literal may have: a 64-bit integer has 20, a double's shortest form 24.
MAX_NUMBER_CHARS = 100

#: A literal over the limit has a run of at least this many digits (integer part, fraction, exponent).
_LONG_DIGITS = re.compile(rf"[0-9]{{{MAX_NUMBER_CHARS // 4},}}")


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests objects or lists more than ``limit`` levels deep; iterative, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


def _parse_json(value: Any) -> Any:
    if json_depth_exceeds(value):
        raise GraphQLError(
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep",
            extensions={"code": "BAD_USER_INPUT", "maximum": MAX_JSON_DEPTH},
        )
    return value


def _serialize_json(value: Any) -> Any:
    return value


#: The ``JSON`` scalar of the schema (``scalar_overrides`` puts it in place of Strawberry's): the same SDL and
#: output, and a depth bound on input.
BoundedJSON = strawberry.scalar(
    name="JSON",
    description=(
        "The `JSON` scalar type represents JSON values as specified by "
        "[ECMA-404](https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf)."
    ),
    specified_by_url="https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf",
    serialize=_serialize_json,
    parse_value=_parse_json,
)


def _parse_datetime(value: Any) -> datetime:
    """Strawberry's DateTime parsing (ISO 8601, its errors), and UTC for a value that names no offset."""
    assert DateTimeDefinition.parse_value is not None
    parsed: datetime = DateTimeDefinition.parse_value(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _serialize_datetime(value: datetime) -> str:
    return value.isoformat()


#: The ``DateTime`` scalar of the schema (``scalar_overrides`` puts it in place of Strawberry's): the same output, and
#: an input without an offset is read as UTC, here once for every argument and input field, never as the server's
#: or a provider's local time.
UtcDateTime = strawberry.scalar(
    name="DateTime",
    description=(
        "A date and time in ISO 8601, e.g. `2024-05-01T10:00:00Z` or `2024-05-01T12:00:00+02:00`. "
        "An input without an offset (`2024-05-01T10:00:00`) is read as UTC."
    ),
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)


class NumberLiteralLimit(ValidationRule):
    """Refuses a document with an over-long number literal before any other rule reads the number.

    It acts on entering the document, which every rule sees before any operation or value, and aborts the
    validation with its error: graphql-core's own value rule and the cost estimate would otherwise call ``int()`` on
    the literal. A regular expression over the source skips the walk for every document without a long digit run.
    """

    def enter_document(self, node: DocumentNode, *_args: Any) -> None:
        source = node.loc.source.body if node.loc is not None else None
        if source is not None and not _LONG_DIGITS.search(source):
            return
        found = find_in_document(
            node, lambda n: isinstance(n, IntValueNode | FloatValueNode) and len(n.value) > MAX_NUMBER_CHARS
        )
        if found is None:
            return
        literal, field = found
        where = f"{field}: " if field else ""
        raise ValidationAbortedError(
            f"{where}a number literal of {len(literal.value)} characters (at most {MAX_NUMBER_CHARS})",
            literal,
            extensions={"code": "BAD_USER_INPUT", "field": field, "maximum": MAX_NUMBER_CHARS},
        )
