"""UiPath's example corpus (``examples/uipath``), replayed two ways: each request as is against the sandbox over real
HTTP (documented status, answer of the documented schema), and each example answer through the adapter's parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.providers.uipath.adapter import UiPathAdapter
from tests.support.adapters import MakeAdapter
from tests.support.sandbox import Sandbox

EXAMPLES = Path(__file__).parent / "examples" / "uipath"
OPENAPI: dict[str, Any] = json.loads((EXAMPLES / "openapi-webhooks.json").read_text())
SCHEMAS: dict[str, Any] = OPENAPI["components"]["schemas"]
EXCHANGES: list[dict[str, Any]] = json.loads((EXAMPLES / "exchanges.json").read_text())["exchanges"]
AUTH = {"Authorization": "Bearer sandbox-uipath-token"}
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "boolean": (bool,), "object": (dict,)}


def shape_errors(value: Any, schema: dict[str, Any], where: str, *, required: bool = True) -> list[str]:
    """Where ``value`` departs from an OpenAPI ``schema`` (types, required properties, no unknown ones); OData
    annotations (``@odata.*``) are not properties. ``null`` is taken for any property that is not required."""
    if "$ref" in schema:
        return shape_errors(value, SCHEMAS[schema["$ref"].rsplit("/", 1)[1]], where, required=required)
    kind = schema.get("type")
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: not an array"]
        items = schema["items"]
        return [e for i, v in enumerate(value) for e in shape_errors(v, items, f"{where}[{i}]", required=required)]
    if kind in _TYPES and (not isinstance(value, _TYPES[kind]) or (kind == "integer" and isinstance(value, bool))):
        return [f"{where}: {value!r} is not {kind}"]
    errors: list[str] = []
    if kind == "object" and "properties" in schema:
        props = schema["properties"]
        missing = set(schema.get("required", ())) - set(value) if required else set()
        errors += [f"{where}: {name} missing" for name in sorted(missing)]
        for name, item in value.items():
            if name.startswith("@odata."):
                continue
            if name not in props:
                errors.append(f"{where}: {name} is not in the schema")
            elif item is not None or name in schema.get("required", ()):
                errors += shape_errors(item, props[name], f"{where}.{name}", required=required)
    return errors


def _id(exchange: dict[str, Any]) -> str:
    return str(exchange["name"])


@pytest.mark.parametrize("exchange", EXCHANGES, ids=_id)
async def test_each_example_request_gets_the_documented_status_and_shape(
    sandbox: Sandbox, exchange: dict[str, Any]
) -> None:
    request = exchange["request"]
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/uipath", headers=AUTH) as client:
        response = await client.request(
            request["method"], request["path"], params=request.get("query"), json=request.get("body")
        )
    assert response.status_code in exchange["status"], response.text
    if "schema" not in exchange:
        assert response.content == b""
        return
    body = response.json()
    selected = any(name == "$select" for name, _ in request.get("query", ()))
    assert (
        shape_errors(body, {"$ref": f"#/components/schemas/{exchange['schema']}"}, "answer", required=not selected)
        == []
    )
    for key in exchange.get("has", ()):
        assert key in body


def test_the_excerpt_covers_every_webhooks_operation_of_the_description() -> None:
    """Every operation of the description's Webhooks paths has at least one example."""
    operations = {
        (method.upper(), path.replace("{key}", "4")) for path, item in OPENAPI["paths"].items() for method in item
    }
    sent = {(e["request"]["method"], e["request"]["path"].replace("(10)", "(4)")) for e in EXCHANGES}
    assert operations <= sent


@pytest.fixture
def uipath(make_adapter: MakeAdapter) -> UiPathAdapter:
    adapter: UiPathAdapter = make_adapter("uipath")
    return adapter


@pytest.mark.parametrize("exchange", [e for e in EXCHANGES if "answer" in e], ids=_id)
def test_each_example_answer_parses(uipath: UiPathAdapter, exchange: dict[str, Any]) -> None:
    answer, schema = exchange["answer"], exchange["schema"]
    if schema == "ODataValueOfIEnumerableOfWebhookDto":
        records, link = uipath.parse_page(answer)
        assert [r.provider_id for r in records] == [str(dto["Id"]) for dto in answer["value"]]
        assert link is None
        assert all(r.url and r.events for r in records)
    elif schema == "WebhookDto":
        record = uipath.parse_webhook(answer)
        assert (record.provider_id, record.url, record.name) == (str(answer["Id"]), answer["Url"], answer["Name"])
        assert record.description == answer["Description"]
        assert record.has_secret is True
        assert answer["Secret"] not in repr(record)
    elif schema == "ODataValueOfIEnumerableOfWebhookEventTypeDto":
        types = uipath.parse_event_types(answer)
        assert [(t.name, t.group) for t in types] == [(v["Name"], v["Group"]) for v in answer["value"]]
    elif schema == "PingEventDto":
        ping = uipath.parse_ping(answer)
        assert (ping.type, ping.event_id, ping.tenant_id, ping.user_id) == ("ping", answer["EventId"], "57", "583")
        unit = answer["OrganizationUnitId"]
        assert ping.organization_unit_id == (None if unit is None else str(unit))
        assert ping.timestamp.year >= 2018
    elif schema == "CustomEventDto":
        event = uipath.parse_custom_event(answer)
        assert (event.type, event.event_id, event.event_type) == ("custom", answer["EventId"], "order.shipped")
        assert event.data == {"Order": 1001, "Carrier": "DHL"}
    else:
        pytest.fail(f"no parser check for {schema}")
