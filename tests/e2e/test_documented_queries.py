"""Every GraphQL operation in README.md and docs/*.md passes the default limits and runs against the sandbox.

Found in ```graphql blocks, in curl ``-d`` bodies sent to ``/graphql`` (and ``-F`` multipart uploads), in Python
examples (triple-quoted operations) and in inline code that is a whole operation (README's tour:
``webhooks(provider: DIXA) { ... }``). Each is validated with the default limits (cost included; docs/providers.md's
inline code is the providers' own wire format, not Hookgate's, and is left out), then run through a served gateway
over a fresh sandbox: docs/automation.md in order, as it says its examples were (curl bodies, then its Python blocks
executed as written), and the other pages' operations one by one, subscriptions over the WebSocket. Nothing else is
skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client
from gql.graphql_request import GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    print_ast,
    specified_rules,
    validate,
)
from graphql.language import DocumentNode, FieldNode

from gateway.config import Limits
from gateway.limits import limit_rules
from resolvers.webhooks import DEFAULT_PAGE
from schema.schema import build_schema
from tests.support.sandbox import Sandbox, sandbox_settings

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
AUTOMATION = ROOT / "docs" / "automation.md"
#: Its inline code quotes the providers' own APIs (WorkflowGen's GraphQL: `request { process { name } }`), not ours.
UPSTREAM_WIRE = ROOT / "docs" / "providers.md"
#: Where the docs say the gateway and the sandbox run (`make run`).
GATEWAY = "http://127.0.0.1:8000"
SANDBOX = "http://127.0.0.1:8100"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")
PYTHON_OPERATION = re.compile(r'"""\s*((?:query|mutation|subscription|\{)[\s\S]*?)"""')


# -- finding the operations ------------------------------------------------------------------------------------------


def _schema() -> GraphQLSchema:
    schema: GraphQLSchema = build_schema(sandbox_settings("http://sandbox.test"))._schema
    return schema


def fences(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def _prose(text: str) -> str:
    return FENCE.sub("", text)


def curl_commands(block: str) -> list[tuple[str, list[str]]]:
    """``(command, comment lines after it)`` for each curl command of a shell block (quotes may span lines)."""
    commands: list[tuple[str, list[str]]] = []
    current: list[str] = []
    quoted = False
    for line in block.splitlines():
        if not current and not quoted:
            stripped = line.strip()
            if stripped.startswith("#"):
                if commands:
                    commands[-1][1].append(stripped[1:].strip())
                continue
            if "curl " not in line:
                continue
        current.append(line)
        quoted ^= line.count("'") % 2 == 1
        if not quoted and not line.rstrip().endswith("\\"):
            commands.append((" ".join(current), []))
            current = []
    return commands


def curl_body(command: str) -> dict[str, Any] | None:
    """The JSON body a curl command posts to ``/graphql`` (``None`` for other URLs)."""
    match = re.search(r"-d '([^']*)'", command, re.S)
    if "/graphql" not in command or match is None:
        return None
    body: dict[str, Any] = json.loads(match.group(1))
    return body


#: What a documented ``-F '0=@receipt.pdf'`` sends here: the file is the reader's, not the repository's.
DOCUMENTED_FILE = b"%PDF-1.4 a documented upload"


def curl_multipart(command: str) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]] | None:
    """The fields and files of a multipart curl command to ``/graphql`` (``-F``: a file upload), else ``None``."""
    parts = re.findall(r"-F '([^']*)'", command, re.S)
    if "/graphql" not in command or not parts:
        return None
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in parts:
        name, _, value = part.partition("=")
        if value.startswith("@"):
            path, _, media_type = value[1:].partition(";type=")
            files[name] = (path, DOCUMENTED_FILE, media_type or "application/octet-stream")
        else:
            fields[name] = value
    return fields, files


def curl_headers(command: str) -> dict[str, str]:
    pairs = (h.split(":", 1) for h in re.findall(r"-H '([^']*)'", command))
    return {name.strip(): value.strip() for name, value in pairs if name.lower() != "content-type"}


def expected_answer(comments: list[str]) -> dict[str, Any] | None:
    """The answer the comments after a command show, when it is shown whole (no ``...``)."""
    text = ""
    for line in comments:
        if line.startswith("{"):
            if text:
                break
            text = line
        elif text and not line.startswith(("{", "idempotent")):
            text += line
    if not text or "..." in text:
        return None
    with contextlib.suppress(ValueError):
        answer: dict[str, Any] = json.loads(text)
        return answer
    return None


def split_operations(source: str) -> list[str]:
    """Each operation of a document, on its own (the docs put several anonymous ones in one block)."""
    document = parse(source)
    return [print_ast(d) for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def is_operation(schema: GraphQLSchema, text: str) -> str | None:
    """``text`` (or ``{ text }``) when it is a whole operation whose root fields exist; else ``None``."""
    for candidate in (text, "{ " + text + " }"):
        try:
            document: DocumentNode = parse(candidate)
        except GraphQLError:
            continue
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if not operations:
            return None
        for operation in operations:
            root = schema.get_root_type(operation.operation)
            selections = operation.selection_set.selections
            if root is None or not all(
                isinstance(s, FieldNode) and s.name.value in root.fields and (s.selection_set or not s.arguments)
                for s in selections
            ):
                return None
            if any(isinstance(s, FieldNode) and s.selection_set is None for s in selections):
                return None
        return candidate
    return None


def documented_operations(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """``(where, operation)`` for every operation of the README and docs/."""
    found: list[tuple[str, str]] = []
    for page in PAGES:
        text = page.read_text()
        name = page.relative_to(ROOT).as_posix()
        for block in fences(text, "graphql"):
            found += [(f"{name} graphql block", op) for op in split_operations(block)]
        for block in fences(text, "sh"):
            for command, _ in curl_commands(block):
                body = curl_body(command)
                multipart = curl_multipart(command)
                if body is not None:
                    found.append((f"{name} curl", body["query"]))
                elif multipart is not None:
                    found.append((f"{name} curl", json.loads(multipart[0]["operations"])["query"]))
        for block in fences(text, "python"):
            found += [(f"{name} python", op) for op in PYTHON_OPERATION.findall(block)]
        for span in INLINE.findall(_prose(text)) if page != UPSTREAM_WIRE else ():
            operation = is_operation(schema, span) if "{" in span else None
            if operation is not None:
                found.append((f"{name} inline", operation))
    return found


# -- validation: every operation within the default limits ------------------------------------------------------------


def test_the_docs_hold_the_operations_this_test_looks_for() -> None:
    found = documented_operations(_schema())
    where = {w for w, _ in found}
    assert {"README.md curl", "README.md inline", "README.md graphql block", "docs/automation.md curl"} <= where
    assert {"docs/automation.md python", "docs/events.md graphql block"} <= where
    tour = [op for w, op in found if w == "README.md inline"]
    assert any("deliveryStatuses" in op for op in tour), tour
    assert len(found) >= 50, len(found)
    assert any("deliveryStatuses { event } } } }" in op for w, op in found if w == "docs/security.md inline")


def test_every_documented_operation_passes_the_default_limits() -> None:
    """The README's Dixa tour query (no `first`) was refused: a connection without `first` cost 500 items."""
    schema = _schema()
    rules = [*specified_rules, *limit_rules(Limits(), production=False)]
    refused = {}
    for where, operation in documented_operations(schema):
        problems = validate(schema, parse(operation), rules)
        if problems:
            refused[f"{where}: {operation[:120]}"] = [p.message for p in problems]
    assert refused == {}


# -- running them against the sandbox ----------------------------------------------------------------------------------


def _local(text: str, gateway_url: str, sandbox_url: str) -> str:
    return text.replace(GATEWAY, gateway_url).replace(SANDBOX, sandbox_url)


@pytest.fixture
def served(gateway_factory: Any, sandbox: Sandbox) -> Any:
    """A gateway as `make run` serves the sandbox: webhook targets on loopback allowed."""
    return gateway_factory(webhooks={"allow_private_urls": True})


def test_docs_automation_runs_in_order_as_written(served: Any, sandbox: Sandbox) -> None:
    """docs/automation.md: every curl body in order (answers shown whole must match), then every Python block."""
    text = _local(AUTOMATION.read_text(), served.url, sandbox.url)
    ran = 0
    for block in fences(text, "sh"):
        for command, comments in curl_commands(block):
            body, multipart = curl_body(command), curl_multipart(command)
            if body is not None:
                answer = httpx.post(served.graphql_url, json=body, headers=curl_headers(command), timeout=30).json()
            elif multipart is not None:
                fields, files = multipart
                headers = curl_headers(command)
                answer = httpx.post(served.graphql_url, data=fields, files=files, headers=headers, timeout=30).json()
            else:
                continue
            shown = " ".join(comments)
            if '"errors"' in shown:
                assert answer.get("errors"), (command, answer)
            else:
                assert "errors" not in answer, (command, answer)
            expected = expected_answer(comments)
            if expected is not None:
                assert answer == expected, command
            ran += 1
    assert ran >= 18
    namespace: dict[str, Any] = {"__name__": "docs_automation"}
    blocks = fences(text, "python")
    assert len(blocks) >= 15
    with contextlib.redirect_stdout(None):
        for block in blocks:
            exec(compile(block, f"{AUTOMATION.name} python block", "exec"), namespace)  # noqa: S102


async def _subscribe(url: str, operation: str, timeout_s: float = 1.0) -> list[dict[str, Any]]:
    """Start a subscription over graphql-transport-ws; what arrives within ``timeout_s`` (errors raise)."""
    ws = url.replace("http://", "ws://", 1) + "/graphql"
    transport = WebsocketsTransport(url=ws, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    received: list[dict[str, Any]] = []
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        stream = session.subscribe(GraphQLRequest(operation))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                async for result in stream:
                    received.append(result)
    return received


async def test_every_other_documented_operation_answers_without_errors(served: Any, sandbox: Sandbox) -> None:
    """README.md and docs/ but automation.md, in the pages' order: queries and mutations over HTTP (the events
    walkthrough's `<id from step 1>` filled in), subscriptions over the WebSocket."""
    schema = _schema()
    operations = [
        (where, _local(op, served.url, sandbox.url))
        for where, op in documented_operations(schema)
        if not where.startswith("docs/automation.md")
    ]
    created: str | None = None
    async with httpx.AsyncClient(timeout=30) as client:
        for where, operation in operations:
            kind = next(d for d in parse(operation).definitions if isinstance(d, OperationDefinitionNode)).operation
            if kind is OperationType.SUBSCRIPTION:
                await _subscribe(served.url, operation)
                continue
            if created is not None:
                operation = operation.replace("<id from step 1>", created)
            answer = (await client.post(served.graphql_url, json={"query": operation})).json()
            assert "errors" not in answer, (where, operation, answer)
            if "createWebhook" in answer["data"]:
                created = answer["data"]["createWebhook"]["webhook"]["id"]


# -- what made the tour pass: a connection without `first` is one default page, costed as such -----------------------


def test_webhooks_without_first_serve_and_cost_the_default_page(served: Any, sandbox: Sandbox) -> None:
    """Before, `webhooks` without `first` served up to `max_first` (500) and was costed so: 20,502 for the tour."""
    headers = {"Authorization": "Bearer sandbox-uipath-token"}
    with httpx.Client(base_url=sandbox.url, timeout=30, headers=headers) as upstream:
        have = len(upstream.get("/uipath/odata/Webhooks").raise_for_status().json()["value"])
        for index in range(DEFAULT_PAGE + 1 - have):
            hook = {"Name": f"hook {index}", "Url": f"https://example.com/{index}", "SubscribeToAllEvents": True}
            upstream.post("/uipath/odata/Webhooks", json=hook).raise_for_status()
    for first in ("", "(first: null)"):
        query = f"{{ webhooks{first} {{ totalCount pageInfo {{ hasNextPage }} nodes {{ id }} }} }}"
        answer = served.post(query).json()
        assert "errors" not in answer, answer
        page = answer["data"]["webhooks"]
        assert len(page["nodes"]) == DEFAULT_PAGE < page["totalCount"]
        assert page["pageInfo"]["hasNextPage"] is True
    schema = _schema()
    assert schema.query_type is not None
    assert schema.query_type.fields["webhooks"].args["first"].default_value == DEFAULT_PAGE
    problems = validate(
        schema,
        parse("{ webhooks { nodes { id } } }"),
        [*specified_rules, *limit_rules(Limits(max_cost=1 + 1 + DEFAULT_PAGE), production=False)],
    )
    assert problems == []
    problems = validate(
        schema,
        parse("{ webhooks { nodes { id } } }"),
        [*specified_rules, *limit_rules(Limits(max_cost=1 + DEFAULT_PAGE), production=False)],
    )
    assert [p.extensions["cost"] for p in problems if p.extensions] == [2 + DEFAULT_PAGE]
