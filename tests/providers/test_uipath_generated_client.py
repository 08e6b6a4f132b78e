"""A client generated from UiPath's published OpenAPI description (``examples/uipath/openapi-webhooks.json``) by
``openapi-python-client``, run unchanged against the sandbox over real HTTP: every Webhooks operation of the
description, with the parameters and bodies exactly as the generated code sends them (``$count=True``,
``GetEventTypes`` without ``()``, the whole ``WebhookDto`` with ``Name``, ``PATCH``)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.sandbox import Sandbox

DESCRIPTION = Path(__file__).parent / "examples" / "uipath" / "openapi-webhooks.json"
PACKAGE = "uipath_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, importable for this module's tests (generated once; no post hooks, so no ruff run)."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(DESCRIPTION)]
    command += ["--config", str(config), "--meta", "none", "--output-path", str(root / PACKAGE)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_drives_every_webhooks_operation(generated: ModuleType, sandbox: Sandbox) -> None:
    api = "api.webhooks."
    models = _module("models")
    client = generated.AuthenticatedClient(
        base_url=f"{sandbox.url}/uipath", token="sandbox-uipath-token", raise_on_unexpected_status=True
    )
    with client:
        listed = _module(f"{api}webhooks_get").sync_detailed(client=client, count=True, top=2)
        assert listed.status_code == 200
        assert isinstance(listed.parsed, models.ODataValueOfIEnumerableOfWebhookDto)
        assert len(listed.parsed.value) == 2
        assert listed.parsed.additional_properties["@odata.count"] >= 2
        assert all(isinstance(hook, models.WebhookDto) and hook.name for hook in listed.parsed.value)

        body = models.WebhookDto(
            name="Generated client",
            description="made by a client generated from the OpenAPI description",
            url="https://example.com/generated",
            enabled=True,
            subscribe_to_all_events=False,
            allow_insecure_ssl=False,
            secret="generated-secret-1",
            events=[models.WebhookEventDto(event_type="job.completed")],
        )
        created = _module(f"{api}webhooks_post").sync_detailed(client=client, body=body)
        assert created.status_code == 201
        hook = created.parsed
        assert isinstance(hook, models.WebhookDto)
        assert (hook.name, hook.description, hook.url) == (body.name, body.description, body.url)
        assert [e.event_type for e in hook.events] == ["job.completed"]
        assert isinstance(hook.id, int)

        got = _module(f"{api}webhooks_get_by_id").sync_detailed(hook.id, client=client)
        assert got.status_code == 200
        assert isinstance(got.parsed, models.WebhookDto)
        assert (got.parsed.id, got.parsed.name) == (hook.id, "Generated client")

        changed = models.WebhookDto.from_dict({**got.parsed.to_dict(), "Name": "Renamed", "Enabled": False})
        patched = _module(f"{api}webhooks_patch_by_id").sync_detailed(hook.id, client=client, body=changed)
        assert patched.status_code in (200, 204)
        again = _module(f"{api}webhooks_get_by_id").sync(hook.id, client=client)
        assert isinstance(again, models.WebhookDto)
        assert (again.name, again.enabled) == ("Renamed", False)

        ping = _module(f"{api}webhooks_ping_by_id").sync_detailed(hook.id, client=client)
        assert ping.status_code == 202
        assert isinstance(ping.parsed, models.PingEventDto)
        assert (ping.parsed.type_, ping.parsed.tenant_id, ping.parsed.user_id) == ("ping", 57, 583)

        types = _module(f"{api}webhooks_get_event_types").sync_detailed(client=client, count=True)
        assert types.status_code == 200
        assert isinstance(types.parsed, models.ODataValueOfIEnumerableOfWebhookEventTypeDto)
        assert "job.completed" in {t.name for t in types.parsed.value}

        data = models.WebhooksTriggerCustomBody.from_dict({"order": {"id": 7, "state": "shipped"}})
        custom = _module(f"{api}webhooks_trigger_custom").sync_detailed(client=client, body=data)
        assert custom.status_code == 202
        assert isinstance(custom.parsed, models.CustomEventDto)
        assert custom.parsed.type_ == "custom"
        assert custom.parsed.event_data.to_dict() == {"order": {"id": 7, "state": "shipped"}}

        deleted = _module(f"{api}webhooks_delete_by_id").sync_detailed(hook.id, client=client)
        assert deleted.status_code == 204
        gone = _module(f"{api}webhooks_get_by_id").sync_detailed
        with pytest.raises(generated.errors.UnexpectedStatus) as refused:
            gone(hook.id, client=client)
        assert refused.value.status_code == 404
