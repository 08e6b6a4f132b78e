"""OData v4 system query options over UiPath's WebhookDto: ``$filter``, ``$top``, ``$skip``, ``$count``,
``$orderby``, ``$select``, and the ``@odata.nextLink`` of a server-side page.

``$filter`` is tokenized and parsed by recursive descent into a predicate over a WebhookDto dict: ``eq ne gt ge lt le``,
``and or not``, parentheses, ``contains``, ``startswith``, ``endswith``, ``null``, bare Boolean properties. Every
refusal is an :class:`~sandbox.uipath.model.ODataError` (400, error code 1000) with OData's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from sandbox.uipath.model import INVALID_REQUEST, ODataError

# WebhookDto properties as they may appear in $filter / $orderby / $select, with their OData types.
_PROPERTY_TYPES: Final[dict[str, type]] = {
    "Key": str,  # an Edm.Guid, compared here as its text
    "Name": str,
    "Description": str,
    "Id": int,
    "Url": str,
    "Enabled": bool,
    "Secret": str,
    "SubscribeToAllEvents": bool,
    "AllowInsecureSsl": bool,
}
_SELECTABLE = (*_PROPERTY_TYPES, "Events")
#: WebhookEventTypeDto's properties, for the query options of GetEventTypes [doc: the published OpenAPI description].
EVENT_TYPE_PROPERTIES: Final[dict[str, type]] = {"Name": str, "Group": str}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)|
        (?P<string>'(?:[^']|'')*')|
        (?P<number>-?\d+)(?![A-Za-z_.])|
        (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
}
_ORDERING = frozenset({"gt", "ge", "lt", "le"})
_STRING_FUNCTIONS: Final[dict[str, Callable[[str, str], bool]]] = {
    "contains": lambda haystack, part: part in haystack,
    "startswith": str.startswith,
    "endswith": str.endswith,
}

Predicate = Callable[[dict[str, Any]], bool]


def _invalid_query(detail: str) -> ODataError:
    return ODataError(400, INVALID_REQUEST, f"The query specified in the URI is not valid. {detail}")


@dataclass
class _Operand:
    kind: str  # "property" or "literal"
    value: Any  # the property name, or the literal's Python value
    type: type | None  # None for the null literal

    def resolve(self, dto: dict[str, Any]) -> Any:
        return dto.get(self.value) if self.kind == "property" else self.value


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _invalid_query(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _FilterParser:
    """``expr := or; or := and ('or' and)*; and := unary ('and' unary)*; unary := 'not' unary | primary``."""

    def __init__(self, text: str, properties: dict[str, type], type_name: str) -> None:
        self.text = text
        self.properties = properties
        self.type_name = type_name
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            raise _invalid_query("The $filter expression is empty.")
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise _invalid_query(f"Syntax error at '{self.tokens[self.pos][1]}' in '{self.text}'.")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _invalid_query(f"Expression expected at the end of '{self.text}'.")
        self.pos += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token == ("word", word):
            self.pos += 1
            return True
        return False

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("or"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda dto: any(part(dto) for part in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._keyword("and"):
            parts.append(self._unary())
        if len(parts) == 1:
            return parts[0]
        return lambda dto: all(part(dto) for part in parts)

    def _unary(self) -> Predicate:
        if self._keyword("not"):
            inner = self._unary()
            return lambda dto: not inner(dto)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._peek()
        if token is not None and token[0] == "lparen":
            self.pos += 1
            inner = self._or()
            if self._take()[0] != "rparen":
                raise _invalid_query(f"')' expected in '{self.text}'.")
            return inner
        if token is not None and token[0] == "word" and token[1] in _STRING_FUNCTIONS:
            return self._string_function()
        left = self._operand()
        op_token = self._peek()
        if op_token is None or op_token[0] != "word" or op_token[1] not in _COMPARISONS:
            # A bare Boolean property is a predicate of its own: "$filter=Enabled".
            if left.kind == "property" and left.type is bool:
                name = left.value
                return lambda dto: dto.get(name) is True
            found = "the end" if op_token is None else f"'{op_token[1]}'"
            raise _invalid_query(f"A comparison operator was expected but {found} was found in '{self.text}'.")
        self.pos += 1
        op = op_token[1]
        right = self._operand()
        self._check_types(left, op, right)
        compare = _COMPARISONS[op]

        def predicate(dto: dict[str, Any]) -> bool:
            a, b = left.resolve(dto), right.resolve(dto)
            if a is None or b is None:
                # OData: null equals only null, and ordering with null is false.
                return (a is b) if op == "eq" else (a is not b) if op == "ne" else False
            return compare(a, b)

        return predicate

    def _string_function(self) -> Predicate:
        # contains(Url,'x'), startswith(Url,'x'), endswith(Url,'x'): OData's canonical string functions.
        name = self._take()[1]
        if self._take()[0] != "lparen":
            raise _invalid_query(f"'(' expected after '{name}' in '{self.text}'.")
        target = self._operand()
        if self._take()[0] != "comma":
            raise _invalid_query(f"',' expected in the arguments of '{name}' in '{self.text}'.")
        needle = self._operand()
        if self._take()[0] != "rparen":
            raise _invalid_query(f"')' expected after the arguments of '{name}' in '{self.text}'.")
        if target.type is not str or needle.type is not str:
            raise _invalid_query(f"The function '{name}' takes two string arguments.")
        test = _STRING_FUNCTIONS[name]

        def predicate(dto: dict[str, Any]) -> bool:
            haystack, part = target.resolve(dto), needle.resolve(dto)
            return haystack is not None and part is not None and test(haystack, part)

        return predicate

    def _operand(self) -> _Operand:
        kind, text = self._take()
        if kind == "string":
            return _Operand("literal", text[1:-1].replace("''", "'"), str)
        if kind == "number":
            return _Operand("literal", int(text), int)
        if kind == "word":
            if text in ("true", "false"):
                return _Operand("literal", text == "true", bool)
            if text == "null":
                return _Operand("literal", None, None)
            if text in self.properties:
                return _Operand("property", text, self.properties[text])
            raise _invalid_query(f"Could not find a property named '{text}' on type '{self.type_name}'.")
        raise _invalid_query(f"An operand was expected but '{text}' was found in '{self.text}'.")

    def _check_types(self, left: _Operand, op: str, right: _Operand) -> None:
        if left.type is not None and right.type is not None and left.type is not right.type:
            raise _invalid_query(
                f"A binary operator with incompatible types was detected. Found operand types "
                f"'{left.type.__name__}' and '{right.type.__name__}' for operator kind '{op}'."
            )
        if op in _ORDERING and (bool in (left.type, right.type) or None in (left.type, right.type)):
            raise _invalid_query(f"The operator '{op}' cannot compare these operands.")


_WEBHOOK_TYPE = "UiPath.Webhooks.WebhookDto"


def _type_name(properties: dict[str, type]) -> str:
    return _WEBHOOK_TYPE if properties is _PROPERTY_TYPES else "UiPath.Webhooks.WebhookEventTypeDto"


def parse_filter(text: str, properties: dict[str, type] | None = None) -> Predicate:
    """Compile an OData ``$filter`` over WebhookDto properties (or ``properties``); raises :class:`ODataError`
    (400, 1000)."""
    props = _PROPERTY_TYPES if properties is None else properties
    return _FilterParser(text, props, _type_name(props)).parse()


def _parse_orderby(text: str, properties: dict[str, type]) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0] not in properties:
            raise _invalid_query(f"Invalid $orderby clause '{part.strip()}'.")
        if len(words) == 2 and words[1] not in ("asc", "desc"):
            raise _invalid_query(f"Invalid $orderby direction '{words[1]}'.")
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return keys


def _sort_key(value: Any) -> tuple[bool, Any]:
    # None sorts first, as SQL Server does; two Nones compare through the 0 placeholder, never None < None.
    return (value is not None, value if value is not None else 0)


def _property_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda dto: _sort_key(dto[name])


def _parse_select(text: str, properties: dict[str, type]) -> list[str]:
    selectable = _SELECTABLE if properties is _PROPERTY_TYPES else tuple(properties)
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in selectable:
            raise _invalid_query(f"Could not find a property named '{name}' on type '{_type_name(properties)}'.")
    return names


def _non_negative(name: str, text: str) -> int:
    if not text.isdigit():
        raise _invalid_query(f"Invalid value '{text}' for {name} query option: a non-negative integer is expected.")
    return int(text)


_LINK_SAFE = "'(),$"  # Characters a nextLink leaves unescaped in option values.
_SYSTEM_OPTIONS = frozenset({"$filter", "$top", "$skip", "$count", "$orderby", "$select", "$expand"})


@dataclass
class Query:
    """The system query options of one request, parsed; ``raw`` keeps their text for the next link."""

    predicate: Predicate | None = None
    top: int | None = None
    skip: int = 0
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    select: list[str] | None = None
    raw: dict[str, str] = field(default_factory=dict)


def parse_query(params: Iterable[tuple[str, str]], properties: dict[str, type] | None = None) -> Query:
    """Parse the query string's ``(name, value)`` pairs over WebhookDto (or ``properties``); raises
    :class:`ODataError` (400, 1000)."""
    props = _PROPERTY_TYPES if properties is None else properties
    query = Query()
    for name, value in params:
        if not name.startswith("$"):
            continue  # Non-system parameters are ignored, as ASP.NET OData does.
        if name not in _SYSTEM_OPTIONS:
            raise _invalid_query(f"The query parameter '{name}' is not supported.")
        if name in query.raw:
            raise _invalid_query(f"Query option '{name}' was specified more than once.")
        query.raw[name] = value
    if query.raw.get("$expand"):
        # Neither DTO has a navigation property; an empty $expand (some generated clients send one) is nothing.
        name = query.raw["$expand"].split(",")[0].strip()
        raise _invalid_query(f"Could not find a navigation property named '{name}' on type '{_type_name(props)}'.")
    if "$filter" in query.raw:
        query.predicate = parse_filter(query.raw["$filter"], props)
    if "$top" in query.raw:
        query.top = _non_negative("$top", query.raw["$top"])
    if "$skip" in query.raw:
        query.skip = _non_negative("$skip", query.raw["$skip"])
    if "$count" in query.raw:
        # ASP.NET OData parses the Boolean whatever its case: a client generated from the OpenAPI description sends
        # "True" (Python's str of a bool), others "true" [doc: the published description types $count as boolean].
        count = query.raw["$count"].lower()
        if count not in ("true", "false"):
            raise _invalid_query(f"'{query.raw['$count']}' is not a valid count option.")
        query.count = count == "true"
    if "$orderby" in query.raw:
        query.orderby = _parse_orderby(query.raw["$orderby"], props)
    if "$select" in query.raw:
        query.select = _parse_select(query.raw["$select"], props)
    return query


@dataclass(frozen=True)
class Page:
    """One server page of an answer: its items, the count of all matches, and the next link's query string."""

    items: list[dict[str, Any]]
    total: int
    next_query: str | None  # None on the last page


def apply(query: Query, dtos: list[dict[str, Any]], page_size: int) -> Page:
    """Filter, order, page (``$skip``, ``$top``, at most ``page_size`` items) and select ``dtos``."""
    if query.predicate is not None:
        dtos = [dto for dto in dtos if query.predicate(dto)]
    # Stable sorts from the last key to the first give a multi-key order.
    for name, descending in reversed(query.orderby):
        dtos.sort(key=_property_key(name), reverse=descending)
    total = len(dtos)
    start = min(query.skip, total)
    wanted_end = total if query.top is None else min(total, query.skip + query.top)
    end = min(wanted_end, start + page_size)
    page = dtos[start:end]
    if query.select is not None:
        page = [{name: dto[name] for name in query.select} for dto in page]
    return Page(page, total, _next_query(query, end, wanted_end) if end < wanted_end else None)


def _next_query(query: Query, next_skip: int, wanted_end: int) -> str:
    params: list[tuple[str, str]] = [
        (name, query.raw[name]) for name in ("$filter", "$orderby", "$select", "$count", "$expand") if name in query.raw
    ]
    if query.top is not None:
        params.append(("$top", str(wanted_end - next_skip)))
    params.append(("$skip", str(next_skip)))
    # Spaces as %20 (not "+") and OData's punctuation left readable, as Orchestrator writes its links.
    return "&".join(f"{quote(k, safe='$')}={quote(v, safe=_LINK_SAFE)}" for k, v in params)
