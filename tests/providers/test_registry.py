"""The provider registry: every kind registers, and a kit that does not keep its word is refused when it registers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from gateway.config import Settings, sandbox_sources
from gateway.domain.ports import PROTOCOLS
from gateway.domain.records import Capability, EventTypeRecord, WebhookFilter, WebhookRecord
from gateway.providers import auco
from gateway.providers.base import Adapter
from gateway.providers.kit import KitError, check_kit
from gateway.providers.registry import KITS, register


class HalfRegistry(Adapter):
    """Declares webhooks and event types, but implements only part of the webhook registry."""

    kind = "auco"
    capabilities = frozenset({Capability.WEBHOOKS, Capability.EVENT_TYPES})
    webhook_fields: ClassVar[frozenset[str]] = frozenset({"url"})

    async def list_webhooks(self, filter: WebhookFilter) -> list[WebhookRecord]:
        return []

    async def get_webhooks(self, ids: Sequence[str]) -> list[WebhookRecord | None]:
        return [None for _ in ids]

    def event_types(self) -> list[EventTypeRecord]:  # not async: the Protocol's is
        return []


def test_every_capability_has_one_protocol() -> None:
    assert set(PROTOCOLS) == set(Capability)
    assert len(set(PROTOCOLS.values())) == len(PROTOCOLS)


def test_every_kind_is_registered_and_passes_its_checks() -> None:
    assert list(KITS) == ["uipath", "workflowgen", "druid", "dixa", "auco"]
    for kit in KITS.values():
        assert check_kit(kit) is kit
    assert list(sandbox_sources("http://sandbox.test")) == list(KITS)


def test_a_kit_whose_adapter_lacks_a_declared_capability_is_refused() -> None:
    kit = dataclasses.replace(auco.KIT, adapter=HalfRegistry)
    with pytest.raises(KitError) as refused:
        register(kit)
    message = str(refused.value)
    assert "'auco'" in message
    for missing in ("create_webhook", "update_webhook", "delete_webhook"):
        assert f"WebhookRegistry.{missing}" in message
    assert "EventCatalogue.event_types" in message  # present, but not a coroutine
    assert "list_webhooks" not in message


def test_a_kit_whose_names_disagree_is_refused() -> None:
    with pytest.raises(KitError, match="kind 'auco'"):
        register(dataclasses.replace(auco.KIT, kind="other"))


def test_a_kind_registered_twice_is_refused() -> None:
    with pytest.raises(KitError, match="twice"):
        register(auco.KIT, auco.KIT)


def test_sources_are_validated_against_the_registered_kinds() -> None:
    settings = Settings.model_validate({"sources": sandbox_sources("http://sandbox.test")})
    assert {name: type(config) for name, config in settings.sources.items()} == {
        kind: kit.config for kind, kit in KITS.items()
    }
    bad: dict[str, Any] = {"sources": {"x": {"kind": "nope", "base_url": "http://x.test"}}}
    with pytest.raises(ValueError, match="uipath"):
        Settings.model_validate(bad)
