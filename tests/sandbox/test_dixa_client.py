"""A Dixa client others publish (``dixa-api-client`` on PyPI: requests, synchronous) against the sandbox over real
HTTP, unchanged but for its base URL: list, create, read, patch and delete webhook subscriptions, and read delivery
statuses and logs, as it would against Dixa."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dixa import Dixa
from dixa.exceptions import DixaHTTPError

from tests.support.sandbox import Sandbox

API_KEY = "sandbox-dixa-key"
SEED = "3f9a6d2e-8b1c-4e57-a0d4-6c2b9e1f7a35"  # the "Dashboard Integration" seed subscription


@pytest.fixture
def webhooks(sandbox: Sandbox) -> Any:
    client = Dixa(API_KEY, max_retries=0, retry_delay=0, logger=logging.getLogger("tests.dixa_client"))
    resource = client.v1.Webhook
    resource.base_url = f"{sandbox.url}/dixa"  # the only change: where Dixa is
    return resource


def test_lists_creates_reads_patches_and_deletes_subscriptions(webhooks: Any) -> None:
    resource = webhooks
    listed = resource.list_()
    assert SEED in [item["id"] for item in listed]
    # The client's create body: name and url are all it requires.
    created = resource.create({"name": "From dixa-api-client", "url": "https://example.com/hook"})
    assert created["name"] == "From dixa-api-client"
    assert created["secretKey"]
    assert created["createdBy"] == created["updatedBy"]
    assert created["id"] in [item["id"] for item in resource.list_()]
    got = resource.get(created["id"])
    assert (got["id"], got["url"], got["secretKey"]) == (
        created["id"],
        "https://example.com/hook",
        created["secretKey"],
    )
    patched = resource.patch(
        created["id"],
        {"enabled": False, "events": ["ConversationCreated"], "authorization": {"_type": "TokenAuth", "value": "t"}},
    )
    assert (patched["enabled"], patched["subscribedEvents"]) == (False, ["ConversationCreated"])
    assert patched["headers"]["Authorization"] == "Bearer t"
    resource.delete(created["id"])
    assert created["id"] not in [item["id"] for item in resource.list_()]
    with pytest.raises(DixaHTTPError, match="could not be found"):
        resource.get(created["id"])


def test_reads_delivery_statuses_and_logs(webhooks: Any) -> None:
    resource = webhooks
    statuses = resource.list_delivery_statuses(SEED)
    assert {s["event"] for s in statuses} >= {"ConversationCreated", "ConversationRated"}
    assert {s["deliveryStatus"]["_type"] for s in statuses} == {"DeliveryDetail", "NoRecentDelivery"}
    logs = resource.list_event_logs(SEED, "ConversationCreated")
    assert len(logs) == 2
    assert all(isinstance(entry["payload"], str) and entry["deliveryDetail"]["success"] for entry in logs)
