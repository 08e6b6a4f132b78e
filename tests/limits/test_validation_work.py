"""Validation work grows linearly with the document (issue 10, Critical 1).

A document whose fragments each spread the previous one twice is under 1 KB at 30 levels and spreads ``F0`` a billion
times over. Rules that walk a fragment at every spread (Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter``,
our first cost rule) never finished validating it, and the worker answered nothing else meanwhile, ``/healthz``
included. Every rule now computes a fragment's depth, aliases and cost once per document.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import httpx
import pytest
from graphql import parse, specified_rules, validate

from gateway.config import Limits
from gateway.limits import limit_rules
from schema.schema import build_schema
from tests.support.answers import codes, errors
from tests.support.gateway import Gateway

#: Python function calls one validation may make before the test gives up on it: far above what the linear rules
#: make for 30 levels, far below what re-walking fragments makes for 20 (about a million spreads).
CALL_BUDGET = 500_000


def doubling(levels: int, *, leaf: str = "sources { name }", field: str = "") -> str:
    """``query { ...F<levels> }`` where ``F<i>`` spreads ``F<i-1>`` twice and ``F0`` selects ``leaf``."""
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"query {{ {field} ...F{levels} }} " + " ".join(fragments)


class BudgetExceeded(Exception):
    pass


def calls_to_validate(document: str, limits: Limits | None = None) -> int:
    """Python function calls made by validating ``document`` with the spec's rules and the gateway's limits."""
    schema = build_schema()._schema
    rules = [*specified_rules, *limit_rules(limits or Limits(), production=False)]
    ast = parse(document)
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        nonlocal calls
        if event == "call":
            calls += 1
            if calls > CALL_BUDGET:
                raise BudgetExceeded(f"validation made more than {CALL_BUDGET} calls")
        return None

    sys.setprofile(count)
    try:
        found = validate(schema, ast, rules)
    finally:
        sys.setprofile(None)
    assert [e.extensions.get("limit") for e in found] == ["max_cost"], [e.message for e in found]
    return calls


def test_validating_doubling_fragments_takes_work_linear_in_the_document() -> None:
    work = {levels: calls_to_validate(doubling(levels)) for levels in (20, 25, 30)}
    # Linear: five more fragments cost the same whichever five; re-walking them would multiply the work by 32.
    assert work[30] - work[25] == pytest.approx(work[25] - work[20], rel=0.1), work
    assert work[30] < 2 * work[20], work


@pytest.mark.parametrize(
    ("leaf", "limits", "limit"),
    [
        ("a: sources { name }", Limits(max_cost=10**18), "max_aliases"),
        ("sources { name }", Limits(max_depth=1, max_cost=10**18), None),
        ("webhooks { nodes { eventTypes { name } } }", Limits(max_depth=2, max_cost=10**18), "max_depth"),
    ],
    ids=["aliases", "depth-within", "depth-over"],
)
def test_depth_and_aliases_of_doubling_fragments_are_computed_once_per_fragment(
    leaf: str, limits: Limits, limit: str | None
) -> None:
    """The depth and alias rules alone (the cost limit out of the way): each linear, and each still counting."""
    schema = build_schema()._schema
    rules = limit_rules(limits, production=False)
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        calls += event == "call"
        if calls > CALL_BUDGET:
            raise BudgetExceeded(f"validation made more than {CALL_BUDGET} calls")

    ast = parse(doubling(30, leaf=leaf))
    sys.setprofile(count)
    try:
        found = validate(schema, ast, rules)
    finally:
        sys.setprofile(None)
    assert [e.extensions.get("limit") for e in found] == ([limit] if limit else [])
    if limit == "max_aliases":
        assert found[0].message == f"{2**30} aliases found. Allowed: 30"
    if limit == "max_depth":
        assert found[0].message == "'anonymous' exceeds maximum operation depth of 2"


def test_doubling_fragments_in_a_cycle_end_without_the_rule_that_reports_them() -> None:
    """``F0`` spreads ``F30`` back: ``NoFragmentCycles`` reports the cycle; the limit rules alone still end, quickly."""
    schema = build_schema()._schema
    document = parse(doubling(30, leaf="sources { name } ...F30"))
    calls = 0

    def count(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        calls += event == "call"
        if calls > CALL_BUDGET:
            raise BudgetExceeded(f"validation made more than {CALL_BUDGET} calls")

    sys.setprofile(count)
    try:
        alone = validate(schema, document, limit_rules(Limits(), production=False))
    finally:
        sys.setprofile(None)
    assert [e.extensions.get("limit") for e in alone] == ["max_cost"]
    found = validate(schema, document, [*specified_rules, *limit_rules(Limits(), production=False)])
    assert any("within itself" in e.message for e in found)


def test_a_30_level_doubling_document_is_refused_quickly_while_healthz_answers(gateway_factory: Any) -> None:
    """Against a served gateway: the documents are refused with the cost error, and ``/healthz`` keeps answering
    while they are sent (before, the first one held the worker for good)."""
    gateway: Gateway = gateway_factory()
    document = doubling(30)
    answers: list[tuple[float, httpx.Response]] = []

    def attack() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(20):
                started = time.monotonic()
                response = client.post(gateway.graphql_url, json={"query": document})
                answers.append((time.monotonic() - started, response))

    attacker = threading.Thread(target=attack, daemon=True)
    health: list[int] = []
    with httpx.Client(timeout=5) as client:  # generous: a loaded machine answers /healthz in milliseconds
        attacker.start()
        while attacker.is_alive() or not health:
            health.append(client.get(f"{gateway.url}/healthz").status_code)
    attacker.join(timeout=60)

    assert len(answers) == 20
    for elapsed, response in answers:
        assert response.status_code == 200
        body = response.json()
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert errors(body)[0]["extensions"]["limit"] == "max_cost"
        assert elapsed < 5, f"refused after {elapsed:.2f} s"  # generous: well under a second on an idle machine
    assert health
    assert set(health) == {200}
