"""More of what the sandbox holds, through the simulators' own APIs: for tests that need many webhooks."""

from __future__ import annotations

import httpx

from tests.support.sandbox import Sandbox

UIPATH_AUTH = {"Authorization": "Bearer sandbox-uipath-token"}


def add_uipath_webhooks(sandbox: Sandbox, count: int) -> list[str]:
    """``count`` more UiPath webhooks through the simulator's API; their ids, ascending."""
    names = ["process.created", "job.started", "job.faulted", "queue.created", "robot.status"]
    ids = []
    with httpx.Client(base_url=sandbox.url, headers=UIPATH_AUTH) as client:
        for index in range(count):
            body = {
                "Name": f"perf {index}",
                "Url": f"https://hooks.example.com/perf/{index}",
                "Enabled": True,
                "Events": [{"EventType": names[index % 5]}, {"EventType": names[(index + 2) % 5]}],
            }
            ids.append(str(client.post("/uipath/odata/Webhooks", json=body).raise_for_status().json()["Id"]))
    return ids


def add_dixa_subscriptions(sandbox: Sandbox, count: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": "sandbox-dixa-key"}) as client:
        for index in range(count):
            body = {
                "name": f"Perf {index}",
                "url": f"https://hooks.example.com/dixa/{index}",
                "events": ["ConversationCreated", "ConversationClosed"],
                "authorization": {"_type": "NoAuth"},
            }
            ids.append(client.post("/dixa/v1/webhooks", json=body).raise_for_status().json()["data"]["id"])
    return ids
