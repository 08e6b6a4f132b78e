"""WorkflowGen's example corpus (``examples/workflowgen``), replayed two ways: each request as is against the sandbox
over real HTTP (expected status, answer holding the expected keys), and each example answer through the adapter's
reader (the request or action it names, with no warning)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.domain.ports import ANSWER_WARNINGS
from gateway.providers.workflowgen.answers import read_answer
from tests.support.sandbox import Sandbox

EXAMPLES = Path(__file__).parent / "examples" / "workflowgen"
CORPUS: dict[str, Any] = json.loads((EXAMPLES / "exchanges.json").read_text())
HOOK = "/workflowgen/wfgen/hooks/sandbox-wfgen-token"
GRAPHQL = "/workflowgen/wfgen/graphql"


def _id(example: dict[str, Any]) -> str:
    return str(example["name"])


def has(value: Any, path: str) -> bool:
    """Whether ``value`` holds the dotted ``path`` (list indexes as numbers); a null value counts as held."""
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False
    return True


@pytest.mark.parametrize("exchange", CORPUS["exchanges"], ids=_id)
def test_each_example_request_gets_the_expected_status_and_shape(sandbox: Sandbox, exchange: dict[str, Any]) -> None:
    request = exchange["request"]
    if request["kind"] == "hook":
        response = httpx.post(f"{sandbox.url}{HOOK}", json=request["body"])
    else:
        response = httpx.post(f"{sandbox.url}{GRAPHQL}", json=request["body"], auth=("wfgen_admin", "sandbox"))
    assert response.status_code in exchange["status"], response.text
    body = response.json()
    missing = [path for path in exchange["has"] if not has(body, path)]
    assert not missing, (missing, body)


@pytest.mark.parametrize("example", CORPUS["answers"], ids=_id)
def test_each_example_answer_is_read(example: dict[str, Any]) -> None:
    answer = read_answer(example["operation"], example["answer"])
    assert ANSWER_WARNINGS not in answer, answer
    expect = example["expect"]
    if "request" in expect:
        assert answer["request"]["number"] == expect["request"]
    else:
        assert [answer["action"]["requestNumber"], answer["action"]["number"]] == expect["action"]
