"""``POST /graphql`` with valid JSON that is not an object: a coded 400 in the media type asked for, never a 500.

Each test runs twice (``any_gateway``): in process over ASGI and served over TCP; the answer is the same.
"""

from __future__ import annotations

import pytest

from gateway.media import GRAPHQL_RESPONSE_JSON, JSON
from tests.support.gateway import Gateway


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE_JSON])
@pytest.mark.parametrize(
    ("body", "kind"),
    [(b'"x"', "a string"), (b"0", "a number"), (b"1.5", "a number"), (b"true", "a boolean"), (b"null", "null")],
)
async def test_a_json_body_that_is_not_an_object_is_a_coded_400(
    any_gateway: Gateway, accept: str, body: bytes, kind: str
) -> None:
    async with any_gateway.http() as client:
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json", "accept": accept}
        )
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0] == accept
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].endswith(f"not {kind}")


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE_JSON])
async def test_an_empty_list_is_a_refused_batch(any_gateway: Gateway, accept: str) -> None:
    async with any_gateway.http() as client:
        response = await client.post(
            "/graphql", content=b"[]", headers={"content-type": "application/json", "accept": accept}
        )
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0] == accept
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_get_with_null_variables_still_runs(any_gateway: Gateway) -> None:
    """GET's ``variables`` arrive as text: ``null`` there is allowed, as before."""
    async with any_gateway.http() as client:
        response = await client.get("/graphql", params={"query": "{ __typename }", "variables": "null"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
