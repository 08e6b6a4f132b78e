"""Seed a running sandbox through its own provider APIs, the way a user's tenant would fill up.

UiPath gets ``uipath`` webhooks with 2 to 5 event types each (``POST /uipath/odata/Webhooks``), Dixa
``dixa`` subscriptions in all (``POST /dixa/v1/webhooks``, the seed "Dashboard Integration" one included), Auco ``auco``
webhooks in all (``PUT /auco/v1.5/ext/company``, the seed ``default`` and ``Billing`` included). A fixed random seed
makes every run seed the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from sandbox.uipath import EVENT_TYPES as UIPATH_EVENT_TYPES

UIPATH_TOKEN = "sandbox-uipath-token"  # noqa: S105 - the sandbox's published credential (CONTRACT.md)
DIXA_KEY = "sandbox-dixa-key"
AUCO_PRIVATE_KEY = "prk_sandbox"
DIXA_EVENTS = (
    "ConversationCreated",
    "ConversationAssigned",
    "ConversationClosed",
    "ConversationRated",
    "TypingStarted",
)


@dataclass(frozen=True)
class SeedSize:
    uipath: int = 150
    dixa: int = 3
    auco: int = 4


#: The ``dashboard_large`` data set: 150 UiPath webhooks (the seed's subscribe-to-all one included), 50 Dixa
#: subscriptions and 50 Auco webhooks (each expanded to Auco's whole catalogue).
LARGE = SeedSize(uipath=150, dixa=50, auco=50)


def seed(sandbox_url: str, size: SeedSize = SeedSize(), *, rng_seed: int = 150) -> dict[str, list[str]]:
    """Fill the sandbox at ``sandbox_url`` up to ``size`` and return the provider ids created, per source.

    Webhooks already there count towards the size, so seeding a larger size later tops the data set up."""
    rng = random.Random(rng_seed)
    names = [name for name, _ in UIPATH_EVENT_TYPES]
    created: dict[str, list[str]] = {"uipath": [], "dixa": [], "auco": []}
    with httpx.Client(base_url=sandbox_url, timeout=30) as client:
        # The seed data already holds two UiPath webhooks; add the rest up to the size asked for.
        existing = client.get("/uipath/odata/Webhooks", headers={"Authorization": f"Bearer {UIPATH_TOKEN}"})
        have = len(existing.raise_for_status().json()["value"])
        for index in range(max(0, size.uipath - have)):
            events = rng.sample(names, rng.randint(2, 5))
            body = {
                "Name": f"bench {index}",
                "Url": f"https://hooks.example.com/uipath/{index}",
                "Enabled": index % 7 != 0,
                "SubscribeToAllEvents": False,
                "AllowInsecureSsl": False,
                "Events": [{"EventType": name} for name in events],
            }
            response = client.post(
                "/uipath/odata/Webhooks", json=body, headers={"Authorization": f"Bearer {UIPATH_TOKEN}"}
            )
            created["uipath"].append(str(response.raise_for_status().json()["Id"]))
        dixa_have = len(
            client.get("/dixa/v1/webhooks", headers={"Authorization": DIXA_KEY}).raise_for_status().json()["data"]
        )
        for index in range(dixa_have - 1, size.dixa - 1):  # named after the seed's one subscription, as before
            body_dixa = {
                "name": f"Bench subscription {index}",
                "url": f"https://hooks.example.com/dixa/{index}",
                "events": rng.sample(DIXA_EVENTS, rng.randint(2, 4)),
                "authorization": {"_type": "NoAuth"},
                "enabled": True,
            }
            response = client.post("/dixa/v1/webhooks", json=body_dixa, headers={"Authorization": DIXA_KEY})
            created["dixa"].append(str(response.raise_for_status().json()["data"]["id"]))
        company = client.get("/auco/v1.5/ext/company", headers={"Authorization": AUCO_PRIVATE_KEY}).raise_for_status()
        hooks = list(company.json()["webhooks"])
        taken = {hook.get("id") for hook in hooks}
        index = 0
        while len(hooks) < size.auco:
            hook_id = f"bench-{index}"
            index += 1
            if hook_id in taken:  # seeded before: a larger size tops the list up
                continue
            hooks.append(
                {
                    "id": hook_id,
                    "description": f"Bench webhook {index - 1}",
                    "url": f"https://hooks.example.com/auco/{index - 1}",
                }
            )
            created["auco"].append(hook_id)
        client.put(
            "/auco/v1.5/ext/company", json={"webhooks": hooks}, headers={"Authorization": AUCO_PRIVATE_KEY}
        ).raise_for_status()
    return created


def uipath_ids(sandbox_url: str) -> list[str]:
    """Every UiPath webhook id in the sandbox, ascending."""
    response = httpx.get(
        f"{sandbox_url}/uipath/odata/Webhooks?$top=1000", headers={"Authorization": f"Bearer {UIPATH_TOKEN}"}
    )
    body = response.raise_for_status().json()
    ids = [int(item["Id"]) for item in body["value"]]
    while body.get("@odata.nextLink"):
        body = httpx.get(body["@odata.nextLink"], headers={"Authorization": f"Bearer {UIPATH_TOKEN}"}).json()
        ids.extend(int(item["Id"]) for item in body["value"])
    return [str(i) for i in sorted(ids)]
