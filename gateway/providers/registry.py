"""Provider kinds by name: the only module that imports the kinds' packages.

Adding a kind is one package (``gateway/providers/<kind>/``, see docs/adding-a-provider.md) and its ``KIT`` in
:data:`KITS` below. Each kit is checked as it registers (:func:`~gateway.providers.kit.check_kit`): an adapter
lacking a method of a capability it declares stops the gateway at import, naming the kind and the method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import httpx

from gateway.providers import auco, dixa, druid, uipath, workflowgen
from gateway.providers.base import Adapter
from gateway.providers.http import UpstreamObserver
from gateway.providers.kit import Kit, KitError, check_kit
from gateway.providers.source import SourceBase


def register(*kits: Kit[Any]) -> Mapping[str, Kit[Any]]:
    """The kits by kind, each checked; KitError for a bad kit or a kind registered twice."""
    by_kind: dict[str, Kit[Any]] = {}
    for kit in kits:
        if kit.kind in by_kind:
            raise KitError(f"provider kind {kit.kind!r} is registered twice")
        by_kind[kit.kind] = check_kit(kit)
    return MappingProxyType(by_kind)


#: Every provider kind, in the order the sandbox's sources and the schema's enum list them.
KITS: Final[Mapping[str, Kit[Any]]] = register(
    uipath.KIT,
    workflowgen.KIT,
    druid.KIT,
    dixa.KIT,
    auco.KIT,
)


def kit_of(kind: str) -> Kit[Any]:
    """The kit of a registered kind (configured sources are validated against :data:`KITS`, so it exists)."""
    return KITS[kind]


def build_adapter(
    name: str,
    config: SourceBase,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    observer: UpstreamObserver | None = None,
    on_write: Callable[[str], None] | None = None,
    **extras: Any,
) -> Adapter:
    """The adapter for one configured source. ``observer`` is told of every upstream call and ``on_write`` of every
    write, both from the client's construction on; ``extras`` are collaborators some kinds take (a lock factory...)."""
    create = kit_of(config.kind).adapter.create
    return create(name, config, transport=transport, observer=observer, on_write=on_write, **extras)
