"""Resolvers through ``schema.execute``: the real schema, adapters and sandbox, without HTTP."""

from __future__ import annotations

from typing import Any

from gateway.domain.ports import WebhookRegistry
from schema.ids import encode_id
from tests.support.sandbox import Sandbox
from tests.support.schema import Run


def codes(result: Any) -> list[str]:
    return [e.extensions.get("code") for e in result.errors or []]


async def test_webhooks_page_through_every_source_with_stable_cursors(run: Run) -> None:
    everything = await run("{ webhooks { totalCount nodes { id } } }")
    assert everything.errors is None
    ids = [n["id"] for n in everything.data["webhooks"]["nodes"]]
    seen: list[str] = []
    after = None
    while True:
        page = await run(
            "query($after: String) { webhooks(first: 2, after: $after) { totalCount nodes { id }"
            " pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )
        assert page.errors is None
        seen += [n["id"] for n in page.data["webhooks"]["nodes"]]
        assert page.data["webhooks"]["totalCount"] == len(ids)
        if not page.data["webhooks"]["pageInfo"]["hasNextPage"]:
            break
        after = page.data["webhooks"]["pageInfo"]["endCursor"]
    assert seen == ids


async def test_a_cursor_of_another_source_starts_after_every_row_of_the_sources_before_it(run: Run) -> None:
    """The order is (source as configured, id): a cursor of a source left out by the filter still places the page."""
    query = "query($s: String, $a: String) { webhooks(source: $s, after: $a) { nodes { id } pageInfo { endCursor } } }"
    uipath = (await run(query, {"s": "uipath"})).data["webhooks"]
    auco = (await run(query, {"s": "auco"})).data["webhooks"]
    assert uipath["nodes"]
    assert auco["nodes"]
    later = await run(query, {"s": "auco", "a": uipath["pageInfo"]["endCursor"]})
    assert later.data["webhooks"]["nodes"] == auco["nodes"], "UiPath comes before Auco: every Auco row is after"
    earlier = await run(query, {"s": "uipath", "a": auco["pageInfo"]["endCursor"]})
    assert earlier.data["webhooks"]["nodes"] == [], "Auco comes after UiPath: no UiPath row is after"
    middle = await run(query, {"s": "uipath", "a": uipath["pageInfo"]["endCursor"]})
    assert middle.data["webhooks"]["nodes"] == []


async def test_webhooks_filters_by_provider_enabled_and_event_type(run: Run) -> None:
    result = await run(
        '{ webhooks(provider: UIPATH, eventType: "job.started") { nodes { provider events subscribeToAllEvents } } }'
    )
    assert result.errors is None
    nodes = result.data["webhooks"]["nodes"]
    assert nodes
    assert all(n["provider"] == "UIPATH" for n in nodes)
    assert all("job.started" in n["events"] or n["subscribeToAllEvents"] for n in nodes)
    disabled = await run("{ webhooks(enabled: false) { nodes { enabled } } }")
    assert all(n["enabled"] is False for n in disabled.data["webhooks"]["nodes"])


async def test_webhooks_of_a_source_without_a_registry_is_capability_unsupported(run: Run) -> None:
    result = await run('{ webhooks(source: "druid") { totalCount } }')
    assert codes(result) == ["CAPABILITY_UNSUPPORTED"]
    assert result.errors[0].extensions["source"] == "druid"
    assert result.errors[0].extensions["capability"] == "WEBHOOKS"


async def test_unknown_source_is_bad_user_input_naming_it(run: Run) -> None:
    result = await run('{ eventTypes(source: "nope") { name } }')
    assert codes(result) == ["BAD_USER_INPUT"]
    assert "nope" in result.errors[0].message
    assert result.errors[0].extensions["field"] == "source"


async def test_event_types_come_from_provider_or_adapter_catalogues(run: Run) -> None:
    result = await run("{ eventTypes { provider name group } }")
    assert result.errors is None
    by_provider: dict[str, int] = {}
    for item in result.data["eventTypes"]:
        by_provider[item["provider"]] = by_provider.get(item["provider"], 0) + 1
    assert by_provider["UIPATH"] == 21
    assert by_provider["DIXA"] == 32
    assert by_provider["AUCO"] == 13
    groups = await run('{ eventTypes(provider: DIXA, group: "SLAEvaluation") { name } }')
    assert len(groups.data["eventTypes"]) == 4


async def test_nodes_batches_uipath_ids_into_one_call(run: Run, sandbox: Sandbox) -> None:
    ids = [encode_id("Webhook", "uipath", n) for n in (4, 10, 999)]
    sandbox.clear_calls()
    result = await run("query($ids: [ID!]!) { nodes(ids: $ids) { ... on Webhook { providerId } } }", {"ids": ids})
    assert result.errors is None
    assert result.data["nodes"] == [{"providerId": "4"}, {"providerId": "10"}, None]
    assert sandbox.calls()["uipath"] == {"GET /odata/Webhooks": 1}


async def test_nodes_answers_each_id_as_node_does_in_order(run: Run) -> None:
    """Webhooks of several sources, built together, interleaved with WorkflowGen's own ids, an unknown webhook and a
    malformed id: each place answers what ``node(id:)`` answers for it, the error at the malformed id's index."""
    ids = [
        encode_id("Webhook", "dixa", "unknown"),
        encode_id("Webhook", "uipath", 10),
        "Request:1",
        encode_id("Webhook", "uipath", 4),
        "not-an-id",
        "Action:1---1",
        encode_id("Webhook", "uipath", 999),
    ]
    selection = "id __typename ... on Webhook { source providerId eventTypes { name } }"
    together = await run(f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {selection} }} }}", {"ids": ids})
    assert [(e.path, e.extensions["code"]) for e in together.errors or []] == [(["nodes", 4], "BAD_USER_INPUT")]
    assert together.data is not None
    one_by_one = []
    for id in ids:
        alone = await run(f"query($id: ID!) {{ node(id: $id) {{ {selection} }} }}", {"id": id})
        one_by_one.append(alone.data["node"] if alone.data else None)
    assert together.data["nodes"] == one_by_one
    assert [n and n["__typename"] for n in one_by_one] == [
        None, "Webhook", "WorkflowRequest", "Webhook", None, "WorkflowAction", None,
    ]  # fmt: skip


async def test_malformed_global_id_is_bad_user_input(run: Run) -> None:
    result = await run('{ node(id: "not-an-id") { id } }')
    assert codes(result) == ["BAD_USER_INPUT"]
    wrong_type = await run("query($id: ID!) { webhook(id: $id) { id } }", {"id": encode_id("WorkflowRequest", "w", 1)})
    assert codes(wrong_type) == ["BAD_USER_INPUT"]


async def test_secrets_are_never_returned(run: Run, services: Any) -> None:
    result = await run("{ webhooks { nodes { hasSecret authorizationType } } }")
    assert result.errors is None
    text = str(result.data)
    assert "sandbox-uipath-secret" not in text
    assert "73616e64626f78" not in text
    assert any(n["hasSecret"] for n in result.data["webhooks"]["nodes"])
    registry: WebhookRegistry = services.adapters["uipath"]
    records = await registry.list_webhooks(__import__("gateway.domain.records").domain.records.WebhookFilter())
    assert "sandbox-uipath-secret" not in repr(records)


async def test_dixa_delivery_statuses_and_log_are_null_elsewhere(run: Run) -> None:
    result = await run(
        "{ webhooks(first: 50) { nodes { provider deliveryStatuses { event lastDelivery { success responseCode } }"
        ' deliveryLog(event: "ConversationCreated", first: 1) { delivery { success } payload } } } }'
    )
    assert result.errors is None
    for node in result.data["webhooks"]["nodes"]:
        if node["provider"] == "DIXA":
            assert node["deliveryStatuses"]
            assert len(node["deliveryLog"]) <= 1
        else:
            assert node["deliveryStatuses"] is None
            assert node["deliveryLog"] is None


async def test_a_read_only_key_cannot_run_mutations(run: Run) -> None:
    from gateway.context import Principal

    reader = Principal(name="dash", scopes=frozenset({"read"}))
    result = await run('mutation { deleteWebhook(input: {id: "x"}) { deletedId } }', principal=reader)
    assert codes(result) == ["FORBIDDEN"]
