"""Maps a source's ``kind`` to its adapter class: the only module that imports the adapters."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.config import SourceBase
from gateway.providers.auco import AucoAdapter
from gateway.providers.base import Adapter
from gateway.providers.dixa import DixaAdapter
from gateway.providers.druid import DruidAdapter
from gateway.providers.uipath import UiPathAdapter
from gateway.providers.workflowgen import WorkflowGenAdapter

ADAPTERS: dict[str, Any] = {
    "uipath": UiPathAdapter,
    "workflowgen": WorkflowGenAdapter,
    "druid": DruidAdapter,
    "dixa": DixaAdapter,
    "auco": AucoAdapter,
}


def build_adapter(
    name: str, config: SourceBase, *, transport: httpx.AsyncBaseTransport | None = None, **extras: Any
) -> Adapter:
    """The adapter for one configured source. ``extras`` are collaborators some kinds take (a lock factory...)."""
    kind: str = config.kind  # type: ignore[attr-defined]
    adapter: Adapter = ADAPTERS[kind].create(name, config, transport=transport, **extras)
    return adapter
