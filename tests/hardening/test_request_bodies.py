"""``POST /graphql`` with valid JSON that is not an object: a coded 400 in the media type asked for, never a 500."""

from __future__ import annotations

import httpx
import pytest

from gateway.media import GRAPHQL_RESPONSE_JSON, JSON
from tests.conftest import Gateway


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE_JSON])
@pytest.mark.parametrize(
    ("body", "kind"),
    [(b'"x"', "a string"), (b"0", "a number"), (b"1.5", "a number"), (b"true", "a boolean"), (b"null", "null")],
)
def test_a_json_body_that_is_not_an_object_is_a_coded_400(
    gateway: Gateway, accept: str, body: bytes, kind: str
) -> None:
    response = httpx.post(
        gateway.graphql_url, content=body, headers={"content-type": "application/json", "accept": accept}, timeout=30
    )
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0] == accept
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].endswith(f"not {kind}")


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE_JSON])
def test_an_empty_list_is_a_refused_batch(gateway: Gateway, accept: str) -> None:
    response = httpx.post(
        gateway.graphql_url, content=b"[]", headers={"content-type": "application/json", "accept": accept}, timeout=30
    )
    assert response.status_code == 400
    assert response.headers["content-type"].split(";")[0] == accept
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_get_with_null_variables_still_runs(gateway: Gateway) -> None:
    """GET's ``variables`` arrive as text: ``null`` there is allowed, as before."""
    response = httpx.get(gateway.graphql_url, params={"query": "{ __typename }", "variables": "null"}, timeout=30)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
