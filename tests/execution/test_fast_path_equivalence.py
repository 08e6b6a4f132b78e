"""The fast execution context answers exactly what stock graphql-core execution answers, byte for byte.

Two corpora run through a stock schema and a fast schema, and the serialized answers (``orjson.dumps`` of the data
and of every error with its message, path, locations and extensions) must be equal:

- the Hookgate schema over the sandbox: aliases, fragments, inline fragments on Node, ``@skip``/``@include`` with
  variables, nulls and errors from failing sources, nested lists, ``__typename``, enums, DateTime, JSON,
  introspection, error propagation through non-null fields;
- a small schema built here to reach what the Hookgate schema cannot: values the serializers refuse (an Int beyond
  32 bits, NaN, an unknown enum value), nulls in non-null positions at every depth, exceptions and awaitables as
  attribute values, failing ``is_type_of``, interfaces and unions, nested lists, async resolvers returning lists.

Both schemas of a pair are built from the same classes with the same configuration, so the ``default_resolver`` that
each build writes onto the shared Strawberry field objects is the same for both (PERFORMANCE.md warns about it); the
tests also check that the fast path really ran.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NewType

import orjson
import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult

from gateway.execution import compat, execution_context_class
from gateway.execution import plan as execution_plan
from gateway.execution.context import FastExecutionContext
from resolvers.loading import Later
from schema.ids import encode_id
from tests.support.gateway import Gateway, GatewayFactory
from tests.support.sandbox import Sandbox


def serialized(result: ExecutionResult) -> bytes:
    errors = [error.formatted for error in result.errors or []]
    return orjson.dumps({"data": result.data, "errors": errors})


@pytest.fixture
def fast_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the plans the fast path ran, so that a test can tell the fast path really answered."""
    runs = [0]
    original = FastExecutionContext._run_plan

    def counting(self: FastExecutionContext, *args: Any) -> Any:
        runs[0] += 1
        return original(self, *args)

    monkeypatch.setattr(FastExecutionContext, "_run_plan", counting)
    return runs


# -- the Hookgate schema ----------------------------------------------------------------------------------------------

U4 = encode_id("Webhook", "uipath", 4)
U10 = encode_id("Webhook", "uipath", 10)
DIXA = encode_id("Webhook", "dixa", "3f9a6d2e-8b1c-4e57-a0d4-6c2b9e1f7a35")
AUCO = encode_id("Webhook", "auco", "default")
REQUEST_1 = encode_id("WorkflowRequest", "workflowgen", 1)
WEBHOOK_FIELDS = (
    "id source provider providerId name url enabled subscribeToAllEvents events hasSecret allowInsecureSsl "
    "authorizationType createdAt updatedAt"
)

# (query, variables, faults): faults are sandbox fault switches set for the run.
HOOKGATE_CORPUS: list[tuple[str, dict[str, Any] | None, dict[str, dict[str, Any]]]] = [
    (
        "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } "
        "deliveryStatuses { event lastDelivery { success } } } } }",
        None,
        {},
    ),
    (
        "{ webhooks { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
        f"edges {{ cursor node {{ {WEBHOOK_FIELDS} }} }} }} }}",
        None,
        {},
    ),
    ("{ a: webhooks(first: 1) { n: nodes { i: id u: url } } b: webhooks(provider: DIXA) { nodes { id } } }", None, {}),
    (
        "fragment W on Webhook { id url eventTypes { ...E } } fragment E on EventType { name group provider source "
        "description } { webhooks { nodes { ...W } } }",
        None,
        {},
    ),
    (
        "query($id: ID!) { node(id: $id) { __typename id ... on Webhook { url events eventTypes { name } } } }",
        {"id": U4},
        {},
    ),
    (
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Webhook { url provider } "
        "... on WorkflowRequest { number processName } } }",
        {"ids": [U4, "bm9wZQ", DIXA, REQUEST_1, encode_id("Webhook", "uipath", 999), AUCO]},
        {},
    ),
    *[
        (
            "query($a: Boolean!, $b: Boolean!) { webhooks { nodes { id url @include(if: $a) events @skip(if: $b) "
            "eventTypes @include(if: $a) { name group @skip(if: $b) } ... on Webhook @skip(if: $a) { source } } } }",
            {"a": a, "b": b},
            {},
        )
        for a in (True, False)
        for b in (True, False)
    ],
    (
        "{ __typename webhooks { __typename nodes { __typename eventTypes { __typename name } } "
        "pageInfo { __typename } } sources { __typename } }",
        None,
        {},
    ),
    ("{ sources { name provider capabilities sandbox circuit } }", None, {}),
    ("{ eventTypes { provider source name group description } }", None, {}),
    ('{ eventTypes(provider: DIXA, group: "SLAEvaluation") { name } }', None, {}),
    ("query($p: Provider) { webhooks(provider: $p) { nodes { provider source } } }", {"p": "AUCO"}, {}),
    ("{ webhooks { nodes { id source } } }", None, {"dixa": {"status": 503}}),
    ("{ webhooks { nodes { id eventTypes { name } } } eventTypes { name } }", None, {"uipath": {"status": 500}}),
    (
        "{ webhooks(first: 200) { nodes { id deliveryStatuses { event } eventTypes { name } } } }",
        None,
        {"dixa": {"status": 503}, "auco": {"status": 502}},
    ),
    (
        '{ webhooks(provider: DIXA) { nodes { deliveryLog(event: "ConversationCreated", first: 1) '
        "{ delivery { deliveredAt success responseCode responseText } payload } } } }",
        None,
        {},
    ),
    ('{ webhooks(provider: DIXA) { nodes { id deliveryLog(event: "NotAnEvent") { payload } } } }', None, {}),
    (
        '{ request(source: "workflowgen", number: 1) { id number processName processVersion status description '
        "openedAt closedAt actions { id number requestNumber name status assignee { id userName } openedAt "
        "request { number } } dataset { name textValue numericValue dateTimeValue fileValue { name size } } } }",
        None,
        {},
    ),
    ('{ action(source: "workflowgen", requestNumber: 1, number: 1) { id name status request { id } } }', None, {}),
    ('{ request(source: "workflowgen", number: 424242) { id } }', None, {}),
    ('{ request(source: "workflowgen", number: 1) { number } }', None, {"workflowgen": {"status": 503}}),
    ('{ webhook(id: "nope") { id } }', None, {}),
    ("{ webhooks(first: 501) { totalCount } }", None, {}),
    ('{ sources { name } webhooks(after: "garbage") { totalCount } }', None, {}),
    ("{ inboundEvents(first: 5) { totalCount nodes { id type payload receivedAt } } }", None, {}),
    (
        "query One { sources { name } } query Two { webhooks { nodes { id } } }",
        None,
        {},
    ),
    (
        '{ __type(name: "Webhook") { name kind fields { name args { name } type { name kind ofType { name kind '
        "ofType { name } } } } interfaces { name } } }",
        None,
        {},
    ),
    ("{ __schema { queryType { name } mutationType { name } types { name kind } } }", None, {}),
    (
        'mutation { deleteWebhook(input: {id: "bad"}) { deletedId } pingWebhook(input: {id: "bad"}) { type } }',
        None,
        {},
    ),
    (
        "query($id: ID!) { a: webhook(id: $id) { ...F } b: webhook(id: $id) { ...F id } } "
        "fragment F on Webhook { url eventTypes { name } deliveryStatuses { event } }",
        {"id": DIXA},
        {},
    ),
]


@pytest.fixture
async def gateways(gateway_in_process: GatewayFactory) -> tuple[Gateway, Gateway]:
    stock = await gateway_in_process(fast=False)
    fast = await gateway_in_process(fast=True)
    assert stock.schema.execution_context_class is not FastExecutionContext
    assert fast.schema.execution_context_class is FastExecutionContext
    return stock, fast


@pytest.mark.parametrize(("query", "variables", "faults"), HOOKGATE_CORPUS)
async def test_hookgate_answers_are_identical(
    gateways: tuple[Gateway, Gateway],
    sandbox: Sandbox,
    fast_runs: list[int],
    query: str,
    variables: dict[str, Any] | None,
    faults: dict[str, dict[str, Any]],
) -> None:
    stock, fast = gateways
    for gateway in gateways:  # warm both: the same catalogue state for both runs
        await gateway.run("{ eventTypes { name } }")
    for target, fault in faults.items():
        sandbox.fault(target, **fault)
    operation = "Two" if "query Two" in query else None
    expected = await stock.schema.execute(
        query, variable_values=variables, operation_name=operation, context_value=_context(stock)
    )
    runs_before = fast_runs[0]
    actual = await fast.schema.execute(
        query, variable_values=variables, operation_name=operation, context_value=_context(fast)
    )
    assert serialized(actual) == serialized(expected)
    if expected.data is not None and query.lstrip().startswith("{ webhooks"):
        assert fast_runs[0] > runs_before, "the fast path answered"


def _context(gateway: Gateway) -> Any:
    from gateway.context import Context

    return Context(runtime=gateway.services)


# -- a schema for the edge cases ----------------------------------------------------------------------------------


@strawberry.enum
class Color(Enum):
    RED = "red"
    GREEN = "green"


Blank = NewType("Blank", str)
TOY_CONFIG = StrawberryConfig(
    scalar_map={
        Blank: strawberry.scalar(
            name="Blank",
            serialize=lambda value: None if value == "" else value,  # a serializer that answers null: an error
            parse_value=str,
            description="A string whose serializer refuses the empty string by answering null.",
        )
    }
)


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    name: str
    n: int
    f: float | None
    b: bool
    color: Color
    colors: list[Color]
    when: datetime | None
    blob: JSON | None
    maybe: str | None
    tags: list[str | None]
    strict_tags: list[str]
    blank: Blank | None


@strawberry.type
class Other(Named):
    name: str
    code: int


@strawberry.type
class Plain:
    """No interfaces, so no is_type_of: a wrong object reaches attribute reads."""

    label: str
    count: int | None


@strawberry.type
class Box:
    id: strawberry.ID
    leaf: Leaf
    leaves: list[Leaf]
    opt_leaf: Leaf | None
    opt_leaves: list[Leaf | None] | None
    matrix: list[list[int]]
    named: Named
    nameds: list[Named]
    either: Leaf | Other
    plain: Plain | None
    plains: list[Plain]

    @strawberry.field
    async def later_leaves(self) -> list[Leaf]:
        await asyncio.sleep(0)
        return self.leaves

    @strawberry.field
    def sync_leaves(self) -> list[Leaf | None]:
        return [*self.leaves, None]

    @strawberry.field
    async def failing(self) -> list[Leaf] | None:
        raise ValueError("failing resolver")

    @strawberry.field
    def required_but_none(self) -> Plain:
        return None  # type: ignore[return-value]


def leaf(name: str = "a", **overrides: Any) -> Leaf:
    values: dict[str, Any] = {
        "name": name,
        "n": 7,
        "f": 1.5,
        "b": True,
        "color": Color.RED,
        "colors": [Color.GREEN, Color.RED],
        "when": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        "blob": {"k": [1, "x", None]},
        "maybe": None,
        "tags": ["x", None],
        "strict_tags": ["s"],
        "blank": "b",
    }
    values.update(overrides)
    return Leaf(**values)


@dataclass
class Lookalike:
    """Not a Leaf: fails Leaf's is_type_of."""

    name: str = "impostor"


class Awaitable:
    """An object that is awaitable only because of an instance attribute: graphql-core's check sees it."""

    def __init__(self) -> None:
        self.__await__ = lambda: iter(())


async def value_later(value: Any) -> Any:
    return value


def awaiting(obj: Any, value: Any) -> Any:
    """``obj``, made awaitable by an ``__await__`` of its own (its class has none) that resolves to ``value``: every
    check but awaitability passes, so only that check tells stock's answer (``value``) from ``obj``'s fields."""
    obj.__await__ = lambda: value_later(value).__await__()
    return obj


def boxes() -> list[Box]:
    good = Box(
        id=strawberry.ID("b1"),
        leaf=leaf(),
        leaves=[leaf("x"), leaf("y", f=None)],
        opt_leaf=None,
        opt_leaves=[leaf("z"), None],
        matrix=[[1, 2], [], [3]],
        named=leaf("n"),
        nameds=[leaf("n1"), Other(name="o1", code=3)],
        either=Other(name="o", code=1),
        plain=Plain(label="p", count=None),
        plains=[Plain(label="p1", count=1), Plain(label="p2", count=2)],
    )
    bad: dict[str, Any] = {
        "n": [2**40, True, 3.0, "12"],  # out of range; bool and float and str are converted or refused by Int
        "f": [math.nan, math.inf, 2, "1.25", True],
        "b": [1, 0.0, "yes"],
        "color": ["red", "nope", Color.GREEN],
        "colors": [[Color.RED, "green", "blue"]],
        "name": [None, 12, b"bytes"],
        "maybe": [3, ["list"]],
        "tags": [[1, None, True], "not a list", (x for x in ["gen"])],
        "strict_tags": [["a", None], None, ("t1", "t2")],
        "when": ["2024-01-01", 5],
        "blob": [math.nan, ValueError("an exception as a value"), Later(lambda: value_later({"later": [1]}))],
        "blank": [""],
    }
    out = [good]
    for name, values in bad.items():
        for index, value in enumerate(values):
            odd = leaf(f"{name}-{index}")
            setattr(odd, name, value)
            out.append(
                Box(
                    id=strawberry.ID(f"{name}-{index}"),
                    leaf=odd,
                    leaves=[leaf("ok"), odd],
                    opt_leaf=odd,
                    opt_leaves=[odd, None],
                    matrix=[[1], [2**33]] if name == "n" else [[1]],
                    named=odd,
                    nameds=[odd],
                    either=odd,
                    plain=None,
                    plains=[],
                )
            )
    wrong = Box(
        id=strawberry.ID("wrong"),
        leaf=Lookalike(),  # type: ignore[arg-type]
        leaves=[leaf("ok"), None, Lookalike()],  # type: ignore[list-item]
        opt_leaf=ValueError("an exception as a value"),  # type: ignore[arg-type]
        opt_leaves=[Later(lambda: value_later(leaf("later"))), Lookalike(), None],  # type: ignore[list-item]
        matrix=[[1, None], None],  # type: ignore[list-item]
        named=Lookalike(),  # type: ignore[arg-type]
        nameds=[Other(name="o", code=2**40)],
        either=Plain(label="not in the union", count=1),  # type: ignore[arg-type]
        plain=object(),  # type: ignore[arg-type]
        plains=[Plain(label="ok", count=1), Awaitable(), object()],  # type: ignore[list-item]
    )
    out.append(wrong)
    out.append(
        Box(
            id=strawberry.ID("awaitable"),
            leaf=awaiting(leaf("own"), leaf("resolved")),
            leaves=[leaf("ok"), awaiting(leaf("own"), leaf("resolved"))],
            opt_leaf=awaiting(leaf("own"), None),
            opt_leaves=[awaiting(leaf("own"), None), leaf("ok")],
            matrix=[[1]],
            named=leaf("n"),
            nameds=[awaiting(leaf("own"), leaf("resolved"))],
            either=Other(name="o", code=1),
            plain=awaiting(Plain(label="own", count=1), Plain(label="resolved", count=2)),
            plains=[
                Plain(label="ok", count=1),
                awaiting(Plain(label="own", count=1), Plain(label="resolved", count=2)),
            ],
        )
    )
    return out


@strawberry.type
class Shelf:
    """Plain fields holding boxes: a list of objects whose own builder loops over lists, and a single one."""

    label: str
    boxes: list[Box]
    box: Box | None


def shelves() -> list[Shelf]:
    every = boxes()
    return [
        Shelf(label="good", boxes=every[:1], box=every[0]),
        Shelf(label="all", boxes=every, box=every[-1]),  # the last box is the wrong one
        *[Shelf(label=f"one-{index}", boxes=[box], box=box) for index, box in enumerate(every)],
        Shelf(label="empty", boxes=[], box=None),
    ]


class LeafChild(Leaf):
    """A subclass Strawberry does not know: Leaf's is_type_of accepts it (isinstance)."""


def mixed_leaves() -> list[Any]:
    """Leaves whose is_type_of the fast path may answer once per class, mixed with objects of other classes and with
    objects of the same class that must still be checked one by one: a cast to another type (Strawberry's is_type_of
    reads it from the object), a definition of its own, an ``__await__`` of its own."""
    defined = leaf("defined")
    defined.__strawberry_definition__ = Other.__strawberry_definition__  # type: ignore[attr-defined]
    child = LeafChild(**vars(leaf("child")))
    return [
        leaf("a"),
        leaf("b"),
        strawberry.cast(Other, leaf("cast to Other")),
        leaf("after the cast"),
        strawberry.cast(Leaf, leaf("cast to Leaf")),
        defined,
        child,
        leaf("after the child"),
        LeafChild(**vars(leaf("child 2"))),
        Lookalike(),
        leaf("after the lookalike"),
        awaiting(leaf("own"), leaf("resolved")),
        None,
        Other(name="other", code=1),
        leaf("last"),
    ]


@strawberry.type
class ToyQuery:
    @strawberry.field
    def shelves(self) -> list[Shelf]:
        return shelves()

    @strawberry.field
    def mixed_leaves(self) -> list[Leaf | None]:
        return mixed_leaves()

    @strawberry.field
    def strict_mixed_leaves(self, skip: int = 0) -> list[Leaf]:
        # Without the awaitable one: stock execution answers a failed non-null item followed by an awaitable item
        # with an error of its own (graphql-core hashes the awaitable), which the fast path does not reproduce.
        return [item for item in mixed_leaves()[skip:] if item is not None and "__await__" not in vars(item)]

    @strawberry.field
    def boxes(self) -> list[Box | None]:
        """Nullable items: an error nulls its own box, and the others go on."""
        answer: list[Box | None] = [*boxes()]
        return answer

    @strawberry.field
    def box(self, index: int) -> Box | None:
        found = boxes()
        return found[index] if 0 <= index < len(found) else None

    @strawberry.field
    def strict_boxes(self) -> list[Box]:
        return boxes()[:2]


LEAF_FIELDS = "__typename name n f b color colors when blob maybe tags strictTags blank"
BOX_SELECTIONS = [
    f"leaf {{ {LEAF_FIELDS} }}",
    f"leaves {{ {LEAF_FIELDS} }}",
    f"optLeaf {{ {LEAF_FIELDS} }}",
    f"optLeaves {{ {LEAF_FIELDS} }}",
    "matrix",
    "named { __typename name ... on Leaf { n colors } ... on Other { code } }",
    "nameds { name ... on Other { code } }",
    "either { __typename ... on Leaf { name n } ... on Other { name code } }",
    "plain { label count }",
    "plains { label count }",
    "laterLeaves { name n f }",
    "syncLeaves { name tags }",
    "failing { name }",
    "requiredButNone { label }",
]
TOY_CORPUS: list[tuple[str, dict[str, Any] | None]] = [
    *[(f"{{ boxes {{ id {selection} }} }}", None) for selection in BOX_SELECTIONS],
    ("{ boxes { id " + " ".join(BOX_SELECTIONS[:10]) + " } }", None),
    ("{ strictBoxes { leaf { name n } leaves { strictTags } } }", None),
    ("query($i: Int!) { box(index: $i) { id a: leaf { n } b: leaf { m: n name } } }", {"i": 0}),
    (
        "query($i: Int!) { box(index: $i) { ...B } } fragment B on Box { leaf { ...L } } fragment L on Leaf { n f }",
        {"i": 1},
    ),
    ("query($s: Boolean!) { boxes { leaf { name n @skip(if: $s) f @include(if: $s) } } }", {"s": True}),
    ("query($s: Boolean!) { boxes { leaf { name n @skip(if: $s) f @include(if: $s) } } }", {"s": False}),
    # Selections the generated builders take whole (leaves, lists of str, objects, lists of objects), over every
    # anomaly of boxes(): each must give up and leave the object to the interpreted plan.
    *[
        (f"{{ {root} {{ id {selection} }} }}", None)
        for root in ("boxes", "strictBoxes")
        for selection in (
            "leaves { name n f b maybe }",
            "leaves { __typename name strictTags tags }",
            "optLeaves { name n b }",
            "plains { label count } plain { label count }",
            "leaf { name n strictTags } optLeaf { name f }",
            "leaves { name } optLeaves { n } plains { label } plain { count } leaf { b } optLeaf { name }",
        )
    ],
    ("{ shelves { label boxes { id leaves { name n } plains { label count } } box { id plain { label } } } }", None),
    ("{ shelves { box { id leaf { name n } optLeaf { name } plains { count } } } }", None),
    ("{ shelves { label boxes { leaf { name } } } }", None),
    ("{ shelves { boxes { ...B } } } fragment B on Box { id leaves { ... on Leaf { name n } } }", None),
    ("query($s: Boolean!) { shelves { boxes { leaves { name @skip(if: $s) n } } } }", {"s": True}),
    # Lists of objects of several classes, and of one class with objects that must be checked one by one.
    ("{ mixedLeaves { name n } }", None),
    ("{ mixedLeaves { __typename name colors tags } }", None),
    ("{ mixedLeaves { name } strictMixedLeaves { name } }", None),
    *[("query($k: Int!) { strictMixedLeaves(skip: $k) { name n } }", {"k": k}) for k in (0, 3, 4, 6, 9, 11, 14)],
]


@pytest.mark.parametrize(("query", "variables"), TOY_CORPUS)
async def test_edge_cases_answer_identically(
    fast_runs: list[int], query: str, variables: dict[str, Any] | None
) -> None:
    stock = strawberry.Schema(ToyQuery, config=TOY_CONFIG)
    fast = strawberry.Schema(ToyQuery, config=TOY_CONFIG, execution_context_class=FastExecutionContext)
    expected = await stock.execute(query, variable_values=variables)
    actual = await fast.execute(query, variable_values=variables)
    assert serialized(actual) == serialized(expected)
    assert fast_runs[0] > 0, "the fast path answered"


INCREMENTAL_CONFIG = StrawberryConfig(scalar_map=TOY_CONFIG.scalar_map, enable_experimental_incremental_execution=True)
INCREMENTAL_CORPUS = [
    "{ boxes { id ... @defer { leaf { name n } } plains { label } } }",
    "{ boxes { id leaves @stream(initialCount: 1) { name n } } }",
    '{ strictBoxes { id ... @defer(label: "d") { optLeaves { name f } } } }',
    "{ boxes { id optLeaf { ... @defer { name n f b color } } } }",
    '{ boxes { id ... @defer(label: "outer") { laterLeaves { name ... @defer(label: "inner") { n f } } } } }',
    "{ boxes { id ... @defer { plains { label } syncLeaves @stream(initialCount: 0) { name tags } } } }",
]


async def _incremental(schema: strawberry.Schema, query: str) -> bytes:
    """Every payload of an incremental answer (or the one answer), serialized."""
    result: Any = await schema.execute(query)
    if not hasattr(result, "initial_result"):
        return serialized(result)
    payloads = [result.initial_result.formatted]
    payloads.extend([payload.formatted async for payload in result.subsequent_results])
    return orjson.dumps(payloads)


@pytest.mark.parametrize("query", INCREMENTAL_CORPUS)
async def test_defer_and_stream_answer_identically(query: str) -> None:
    """@defer and @stream (when a schema enables them) take the stock path for what they touch."""
    stock = strawberry.Schema(ToyQuery, config=INCREMENTAL_CONFIG)
    fast = strawberry.Schema(ToyQuery, config=INCREMENTAL_CONFIG, execution_context_class=FastExecutionContext)
    assert await _incremental(fast, query) == await _incremental(stock, query)


class Tracing(SchemaExtension):
    """An extension with a resolve() hook: it must see every field, so the fast path steps aside."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


async def test_a_resolve_hook_turns_the_fast_path_off(fast_runs: list[int]) -> None:
    query = "{ boxes { id " + " ".join(BOX_SELECTIONS[:10]) + " } }"
    stock = strawberry.Schema(ToyQuery, config=TOY_CONFIG, extensions=[Tracing])
    fast = strawberry.Schema(
        ToyQuery, config=TOY_CONFIG, extensions=[Tracing], execution_context_class=FastExecutionContext
    )
    expected = await stock.execute(query)
    actual = await fast.execute(query)
    assert serialized(actual) == serialized(expected)
    assert fast_runs[0] == 0


async def test_builders_take_nested_lists_one_level_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A box's builder loops over its leaves; a shelf's may not loop over boxes that loop themselves, and runs its
    boxes' builders one by one instead (a give-up then redoes one box, not the whole shelf)."""
    made: dict[str, tuple[bool, bool]] = {}
    original = execution_plan.object_builder

    def recording(plan: Any, checks: Any) -> Any:
        result = original(plan, checks)
        made[plan.typename] = (result is not None, bool(result and result[2]))
        return result

    monkeypatch.setattr(execution_plan, "object_builder", recording)
    query = "{ shelves { label boxes { id leaves { name n } plain { label } } } }"
    stock = strawberry.Schema(ToyQuery, config=TOY_CONFIG)
    fast = strawberry.Schema(ToyQuery, config=TOY_CONFIG, execution_context_class=FastExecutionContext)
    assert serialized(await fast.execute(query)) == serialized(await stock.execute(query))
    assert made == {
        "ToyQuery": (False, False),  # shelves has a resolver
        "Shelf": (False, False),
        "Box": (True, True),
        "Leaf": (True, False),
        "Plain": (True, False),
    }


class _Tricky:
    """Attribute look-up that could answer ``__await__``: never a plain class."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


class _Slotted:
    __slots__ = ("x",)


class _AwaitableClass:
    def __await__(self) -> Any:
        return iter(())


class _Meta(type):
    pass


class _WithMeta(metaclass=_Meta):
    pass


class _OwnClass:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return int


def test_plain_classes_answer_awaitability_from_the_instance_dict() -> None:
    """For a plain class, ``"__await__" in obj.__dict__`` is what both awaitability checks answer; anything that could
    make them answer otherwise is not plain."""
    from graphql.pyutils import is_awaitable
    from strawberry.execution import optimized_is_awaitable

    for cls in (Leaf, Box, Plain, Lookalike, Awaitable, Shelf):
        assert compat.plain_class(cls), cls
    for cls in (_Tricky, _Slotted, _AwaitableClass, _WithMeta, _OwnClass, ValueError, int, dict, list):
        assert not compat.plain_class(cls), cls
    for obj in (leaf(), Plain(label="p", count=1), Lookalike(), Awaitable()):
        expected = "__await__" in obj.__dict__
        assert optimized_is_awaitable(obj) is expected
        assert is_awaitable(obj) is expected


def test_versions_are_pinned_and_checked_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        compat.INSTALLED_VERSIONS
        == compat.PINNED_VERSIONS
        == {
            "strawberry-graphql": "0.341.2",
            "graphql-core": "3.3.2",
        }
    )
    assert execution_context_class(True) is FastExecutionContext
    assert execution_context_class(False) is None
    monkeypatch.setattr(compat, "FAST_EXECUTION_AVAILABLE", False)
    assert execution_context_class(True) is None, "other versions: stock execution"


def test_only_plain_fields_are_read_directly() -> None:
    schema = strawberry.Schema(ToyQuery, config=TOY_CONFIG)
    box = schema._schema.get_type("Box")
    assert compat.plain_field_getter(box.fields["leaf"]) is not None  # type: ignore[union-attr]
    for name in ("laterLeaves", "syncLeaves", "failing"):
        assert compat.plain_field_getter(box.fields[name]) is None, name  # type: ignore[union-attr]


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Secret:
    visible: str
    hidden: str | None = strawberry.field(permission_classes=[Never])


@strawberry.type
class SecretQuery:
    @strawberry.field
    def secrets(self) -> list[Secret]:
        return [Secret(visible="v", hidden="h")]


async def test_permission_classes_take_the_stock_path() -> None:
    """A plain attribute guarded by a permission class is not plain (``_is_default`` would say it is)."""
    schema = strawberry.Schema(SecretQuery, execution_context_class=FastExecutionContext)
    secret = schema._schema.get_type("Secret")
    assert compat.plain_field_getter(secret.fields["hidden"]) is None  # type: ignore[union-attr]
    assert compat.plain_field_getter(secret.fields["visible"]) is not None  # type: ignore[union-attr]
    result = await schema.execute("{ secrets { visible hidden } }")
    assert result.data == {"secrets": [{"visible": "v", "hidden": None}]}
    assert [e.message for e in result.errors or []] == ["never"]


def test_is_type_of_is_answered_once_per_class_only_where_the_class_decides_it() -> None:
    schema = strawberry.Schema(ToyQuery, config=TOY_CONFIG, execution_context_class=FastExecutionContext)
    is_type_of = schema._schema.get_type("Leaf").is_type_of  # type: ignore[union-attr]
    assert is_type_of is not None
    assert compat.class_decides_is_type_of(is_type_of, Leaf)
    assert compat.class_decides_is_type_of(is_type_of, LeafChild)

    class CastByProperty(Leaf):
        @property
        def __as_strawberry_type__(self) -> type:
            return Other

    assert not compat.class_decides_is_type_of(is_type_of, CastByProperty), "a descriptor may answer per object"
    assert not compat.class_decides_is_type_of(lambda obj, info: True, Leaf), "not Strawberry's closure"
