"""``POST /hooks/{source}`` in process: answers, normalisation per kind, dedupe, limits, and the log over GraphQL."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from gateway.store import StoreUnavailable
from schema.ids import encode_id
from tests.support.events import auco_delivery, dixa_delivery, standard_delivery, uipath_delivery, uipath_timestamp
from tests.support.gateway import Gateway

EVENTS_QUERY = """
query($source: String, $provider: Provider, $type: String, $first: Int, $after: String) {
  inboundEvents(source: $source, provider: $provider, type: $type, first: $first, after: $after) {
    totalCount
    edges { cursor node { id cursor source provider type providerEventId occurredAt receivedAt payload } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def _events(gw: Gateway, **variables: Any) -> dict[str, Any]:
    result = await gw.graphql(EVENTS_QUERY, variables)
    assert "errors" not in result, result
    return result["data"]["inboundEvents"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------------- answers


async def test_signed_delivery_is_acknowledged_with_its_cursor(asgi_gateway: Gateway) -> None:
    response = await asgi_gateway.deliver("uipath", *uipath_delivery("evt-1"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["duplicate"] is False
    assert await asgi_gateway.services.store.last_cursor() == answer["cursor"]


async def test_redelivery_is_a_duplicate_with_the_first_cursor(asgi_gateway: Gateway) -> None:
    first = (await asgi_gateway.deliver("uipath", *uipath_delivery("evt-1"))).json()
    again = await asgi_gateway.deliver("uipath", *uipath_delivery("evt-1"))
    assert again.status_code == 200
    assert again.json() == {"cursor": first["cursor"], "duplicate": True}
    assert await asgi_gateway.services.store.count() == 1


async def test_the_same_event_id_on_two_sources_is_two_events(asgi_gateway: Gateway) -> None:
    await asgi_gateway.deliver("uipath", *uipath_delivery("same"))
    await asgi_gateway.deliver("dixa", *dixa_delivery("same"))
    assert await asgi_gateway.services.store.count() == 2


async def test_unknown_source_is_404_without_listing_sources(asgi_gateway: Gateway) -> None:
    response = await asgi_gateway.deliver("nope", *uipath_delivery("e"))
    assert response.status_code == 404
    assert "uipath" not in response.text


async def test_unsigned_delivery_is_refused_and_not_stored(asgi_gateway: Gateway) -> None:
    body, _ = uipath_delivery("e")
    response = await asgi_gateway.deliver("uipath", body, {})
    assert response.status_code == 401
    assert response.json()["error"] == "SIGNATURE_MISSING"
    assert await asgi_gateway.services.store.count() == 0


async def test_source_without_a_scheme_or_secret_refuses_with_what_to_configure(asgi_gateway: Gateway) -> None:
    response = await asgi_gateway.deliver("druid", b"{}", {})
    assert response.status_code == 403
    assert "sources.druid.standard_webhooks_secret" in response.json()["message"]


async def test_signed_body_that_is_not_a_json_object_is_400(asgi_gateway: Gateway) -> None:
    for body in (b"not json", b"[1, 2]", b'"text"'):
        _, headers = uipath_delivery("x")
        headers["X-UiPath-Signature"] = _uipath_sign(body)
        response = await asgi_gateway.deliver("uipath", body, headers)
        assert response.status_code == 400, body
    assert await asgi_gateway.services.store.count() == 0


def _uipath_sign(body: bytes) -> str:
    from sandbox.deliveries import sign_uipath

    return sign_uipath("sandbox-uipath-secret", body)


async def test_body_over_the_limit_is_413(asgi_gateway: Gateway) -> None:
    body = orjson.dumps({"Type": "x", "pad": "a" * 1_048_576})
    response = await asgi_gateway.deliver("uipath", body, {"X-UiPath-Signature": _uipath_sign(body)})
    assert response.status_code == 413
    assert await asgi_gateway.services.store.count() == 0


async def test_streamed_body_over_the_limit_is_413_too(asgi_gateway: Gateway) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"a" * 100_000

    response = await asgi_gateway.client.post("/hooks/uipath", content=chunks())
    assert response.status_code == 413


async def test_store_failure_is_503_and_nothing_is_acknowledged(asgi_gateway: Gateway) -> None:
    async def failing(event: Any) -> Any:
        raise StoreUnavailable("down")

    asgi_gateway.services.store.append = failing  # type: ignore[method-assign]
    response = await asgi_gateway.deliver("uipath", *uipath_delivery("e"))
    assert response.status_code == 503
    assert "cursor" not in response.json()


async def test_broker_failure_still_acknowledges_a_durable_event(asgi_gateway: Gateway) -> None:
    async def failing(event: Any) -> None:
        raise ConnectionError("pub/sub down")

    asgi_gateway.services.broker.publish = failing
    response = await asgi_gateway.deliver("uipath", *uipath_delivery("e"))
    assert response.status_code == 200
    assert await asgi_gateway.services.store.count() == 1


# ----------------------------------------------------------------------------------------------- normalisation


async def test_uipath_event_is_normalised(asgi_gateway: Gateway) -> None:
    stamp = uipath_timestamp()  # seven fractional digits, as UiPath sends: the seventh is dropped
    await asgi_gateway.deliver("uipath", *uipath_delivery("c3319a2d", "job.faulted", Job={"Id": 7}, Timestamp=stamp))
    [edge] = (await _events(asgi_gateway))["edges"]
    node = edge["node"]
    assert node["type"] == "job.faulted"
    assert node["provider"] == "UIPATH"
    assert node["providerEventId"] == "c3319a2d"
    assert node["occurredAt"].startswith(stamp[:26])
    assert node["payload"]["Job"] == {"Id": 7}


async def test_dixa_event_is_normalised(asgi_gateway: Gateway) -> None:
    await asgi_gateway.deliver("dixa", *dixa_delivery("a3e1c9b7", "CONVERSATION_CLOSED"))
    node = (await _events(asgi_gateway))["edges"][0]["node"]
    assert (node["type"], node["providerEventId"], node["provider"]) == ("ConversationClosed", "a3e1c9b7", "DIXA")
    assert node["occurredAt"].startswith("2024-05-01T10:00:00.123")


async def test_auco_events_take_the_catalogue_names_and_a_body_hash_id(asgi_gateway: Gateway) -> None:
    body, headers = auco_delivery("FINISH")
    await asgi_gateway.deliver("auco", body, headers)
    package_body = orjson.dumps({"package": "PKG1", "status": "signed_package", "documents": []})
    await asgi_gateway.deliver("auco", package_body, headers)
    nodes = [e["node"] for e in (await _events(asgi_gateway))["edges"]]
    assert [n["type"] for n in nodes] == ["document.FINISH", "package.SIGNED_PACKAGE"]
    assert nodes[0]["providerEventId"] == "sha256:" + hashlib.sha256(body).hexdigest()
    # Auco documents no event id: the same bytes delivered again are the same notification.
    again = await asgi_gateway.deliver("auco", body, headers)
    assert again.json()["duplicate"] is True


async def test_standard_webhooks_event_uses_the_message_id(asgi_gateway: Gateway) -> None:
    body, headers = standard_delivery("action.closed", msg_id="msg_42")
    response = await asgi_gateway.deliver("workflowgen", body, headers)
    assert response.status_code == 200
    node = (await _events(asgi_gateway))["edges"][0]["node"]
    assert (node["type"], node["providerEventId"], node["provider"]) == ("action.closed", "msg_42", "WORKFLOWGEN")


async def test_authentic_delivery_of_an_unexpected_shape_is_kept_not_refused(asgi_gateway: Gateway) -> None:
    body = orjson.dumps({"Surprise": [1, 2, 3]})
    response = await asgi_gateway.deliver("uipath", body, {"X-UiPath-Signature": _uipath_sign(body)})
    assert response.status_code == 200
    node = (await _events(asgi_gateway))["edges"][0]["node"]
    assert node["type"] == "unknown"
    assert node["providerEventId"] == "sha256:" + hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------------------------------- the log over GraphQL


async def test_inbound_events_pages_by_store_cursor_with_filters(asgi_gateway: Gateway) -> None:
    for i in range(5):
        await asgi_gateway.deliver("uipath", *uipath_delivery(f"u{i}", "job.started" if i % 2 else "job.completed"))
    await asgi_gateway.deliver("dixa", *dixa_delivery("d0"))
    first = await _events(asgi_gateway, first=2)
    assert first["totalCount"] == 6
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    rest = await _events(asgi_gateway, first=10, after=first["pageInfo"]["endCursor"])
    cursors = [e["cursor"] for e in first["edges"] + rest["edges"]]
    assert cursors == sorted(cursors)
    assert len(cursors) == 6
    assert rest["pageInfo"]["hasNextPage"] is False
    assert all(e["cursor"] == e["node"]["cursor"] for e in rest["edges"])
    started = await _events(asgi_gateway, source="uipath", type="job.started")
    assert started["totalCount"] == 2
    assert {e["node"]["providerEventId"] for e in started["edges"]} == {"u1", "u3"}
    dixa = await _events(asgi_gateway, provider="DIXA")
    assert [e["node"]["source"] for e in dixa["edges"]] == ["dixa"]


async def test_inbound_event_round_trips_through_node(asgi_gateway: Gateway) -> None:
    await asgi_gateway.deliver("uipath", *uipath_delivery("u1"))
    node = (await _events(asgi_gateway))["edges"][0]["node"]
    result = await asgi_gateway.graphql(
        "query($id: ID!) { node(id: $id) { id ... on InboundEvent { providerEventId } } }", {"id": node["id"]}
    )
    assert result == {"data": {"node": {"id": node["id"], "providerEventId": "u1"}}}
    missing = encode_id("InboundEvent", "uipath", "999999")
    result = await asgi_gateway.graphql("query($id: ID!) { node(id: $id) { id } }", {"id": missing})
    assert result == {"data": {"node": None}}


async def test_bad_arguments_are_bad_user_input(asgi_gateway: Gateway) -> None:
    for variables, field in (
        ({"source": "nope"}, "source"),
        ({"after": "not-a-cursor"}, "after"),
        ({"first": 501}, "first"),
    ):
        result = await asgi_gateway.graphql(EVENTS_QUERY, variables)
        [error] = result["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", result
        assert error["extensions"]["field"] == field
