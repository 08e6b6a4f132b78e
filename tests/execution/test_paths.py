"""Which execution runs: ``[execution] fast`` picks it, and the plan says which fields take the fast path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from gateway.config import load_settings
from gateway.execution import compat
from gateway.execution.context import FastExecutionContext
from schema.schema import build_schema
from tests.support.gateway import GatewayFactory
from tests.support.populate import add_uipath_webhooks

DASHBOARD = (
    "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } "
    "deliveryStatuses { event lastDelivery { success } } } } }"
)
#: Every field of the dashboard query but ``Query.webhooks`` (a resolver): a change that sends one of them to the stock
#: path, where each value costs graphql-core's whole per-field machinery, fails here.
DASHBOARD_FAST_FIELDS = {
    "WebhookConnection.nodes",
    "Webhook.id",
    "Webhook.url",
    "Webhook.events",
    "Webhook.eventTypes",
    "Webhook.deliveryStatuses",
    "EventType.name",
    "EventType.group",
    "DeliveryStatus.event",
    "DeliveryStatus.lastDelivery",
    "DeliveryDetail.success",
}


class RecordingContext(FastExecutionContext):
    """The fast context, remembering each request's instance so that the test can ask its plans."""

    made: ClassVar[list[RecordingContext]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        RecordingContext.made.append(self)


async def test_the_dashboard_query_takes_the_fast_path_for_every_field_but_its_resolver(
    gateway_in_process: GatewayFactory, sandbox: Any
) -> None:
    add_uipath_webhooks(sandbox, 5)
    gateway = await gateway_in_process(fast=True)
    assert gateway.schema.execution_context_class is FastExecutionContext
    gateway.schema.execution_context_class = RecordingContext
    RecordingContext.made.clear()
    await gateway.ok(DASHBOARD)  # cold: the catalogue is loaded
    data = await gateway.ok(DASHBOARD)
    assert len(data["webhooks"]["nodes"]) > 5
    assert len(RecordingContext.made) == 2
    assert RecordingContext.made[-1].fast_fields() == DASHBOARD_FAST_FIELDS


def _settings(tmp_path: Path, toml: str) -> Any:
    config = tmp_path / "hookgate.toml"
    config.write_text(toml, encoding="utf-8")
    return load_settings(config)


def test_execution_fast_false_builds_a_schema_with_stock_execution(tmp_path: Path) -> None:
    stock = build_schema(_settings(tmp_path, "[execution]\nfast = false\n"))
    assert stock.execution_context_class is compat.StrawberryGraphQLCoreExecutionContext
    assert not issubclass(stock.execution_context_class, FastExecutionContext)


def test_execution_is_fast_by_default_and_with_fast_true(tmp_path: Path) -> None:
    assert build_schema(_settings(tmp_path, "")).execution_context_class is FastExecutionContext
    assert (
        build_schema(_settings(tmp_path, "[execution]\nfast = true\n")).execution_context_class is FastExecutionContext
    )


def test_the_environment_turns_fast_execution_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKGATE_EXECUTION__FAST", "false")
    settings = _settings(tmp_path, "")
    assert settings.execution.fast is False
    assert not issubclass(build_schema(settings).execution_context_class, FastExecutionContext)


def test_an_unknown_execution_key_names_it(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"execution\.faster"):
        _settings(tmp_path, "[execution]\nfaster = true\n")
