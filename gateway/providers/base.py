"""The port every provider adapter plugs into: a small base class and one Protocol per capability.

An adapter is one configured *source* (a name, a kind, credentials) and implements the capability Protocols it
declares in ``capabilities``. Resolvers never import an adapter module: they ask the context for a source and
:func:`require` the capability they need, which raises ``CAPABILITY_UNSUPPORTED`` naming the source and the
capability when the source lacks it, instead of answering with a silent empty list.

Contracts every adapter keeps (the contract suite in ``tests/providers`` holds them to it):

- batch reads (``get_webhooks``, ``get_requests``...) return one item per key, in the keys' order, ``None`` for a
  key that does not exist; missing is not an error. Where one upstream answer can fail some keys and serve others
  (:class:`Workflow`'s aliased GraphQL documents), a failed key's slot holds its error *instance* instead, and the
  call raises only when the whole answer failed (HTTP error, timeout, open circuit);
- lists follow the provider's paging to the end;
- parsing is tolerant: unknown fields are ignored, optional fields may be absent, either casing where noted;
- every upstream call goes through the adapter's :class:`~gateway.providers.http.UpstreamClient`, so errors arrive
  as the error tree of ``gateway/errors.py``;
- secrets given to a write never come back in a record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, cast

from gateway.config import SourceBase
from gateway.errors import CapabilityUnsupported, CircuitOpen, HookgateError, UpstreamTimeout, UpstreamUnavailable
from gateway.providers.http import UpstreamClient
from gateway.providers.records import (
    JSON,
    Capability,
    CustomEventRecord,
    DeliveryLogRecord,
    DeliveryStatusRecord,
    EventTypeRecord,
    PingRecord,
    ProbeResult,
    WebhookFilter,
    WebhookRecord,
    WebhookSpec,
    WorkflowActionRecord,
    WorkflowRequestRecord,
)


class Adapter:
    """One source. Subclasses set ``kind`` and ``capabilities`` and build ``self.http`` in ``__init__``."""

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, name: str, config: SourceBase, http: UpstreamClient) -> None:
        self.name = name
        self.config = config
        self.http = http

    @property
    def sandbox(self) -> bool:
        return self.config.sandbox

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    async def probe(self) -> ProbeResult:
        """Reachable and authenticated? One cheap read. Subclasses override when they have a better one."""
        raise NotImplementedError

    async def probe_by(self, read: Callable[[], Awaitable[object]]) -> ProbeResult:
        """Run ``read`` (one cheap authenticated call) and describe the outcome; never raises for a failed call.

        Any HTTP answer means reachable; only a success proves the credentials. ``detail`` is the error's own message,
        which by the error tree's rule names the source and never a secret or a URL.
        """
        try:
            await read()
        except (UpstreamTimeout, UpstreamUnavailable, CircuitOpen) as exc:
            return ProbeResult(reachable=False, authenticated=False, detail=exc.message)
        except HookgateError as exc:
            return ProbeResult(reachable=True, authenticated=False, detail=exc.message)
        return ProbeResult(reachable=True, authenticated=True, detail="ok")

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class WebhookRegistry(Protocol):
    """Webhooks the provider delivers to: list, read by id, and write."""

    #: The ``WebhookSpec`` field names this provider accepts; any other given field is BAD_USER_INPUT.
    webhook_fields: ClassVar[frozenset[str]]

    async def list_webhooks(self, filter: WebhookFilter) -> list[WebhookRecord]: ...

    async def get_webhooks(self, ids: Sequence[str]) -> list[WebhookRecord | None]: ...

    async def create_webhook(self, spec: WebhookSpec) -> WebhookRecord: ...

    async def update_webhook(self, provider_id: str, spec: WebhookSpec) -> WebhookRecord: ...

    async def delete_webhook(self, provider_id: str) -> None: ...


class EventCatalogue(Protocol):
    """The event types a source can deliver: from the provider's endpoint, or the adapter's documented list."""

    async def event_types(self) -> list[EventTypeRecord]: ...


class WebhookPinger(Protocol):
    async def ping_webhook(self, provider_id: str) -> PingRecord: ...


class CustomEvents(Protocol):
    """Raise an event of the caller's own type, delivered to the provider's webhooks (UiPath's TriggerCustom)."""

    async def trigger_custom_event(self, event_type: str, data: JSON) -> CustomEventRecord: ...


class DeliveryLogs(Protocol):
    async def delivery_statuses(self, provider_id: str) -> list[DeliveryStatusRecord] | None: ...

    async def delivery_log(self, provider_id: str, event: str, first: int) -> list[DeliveryLogRecord] | None: ...


class Workflow(Protocol):
    """Requests and actions (WorkflowGen). Reads batch; writes run one operation each and are never retried.

    ``get_requests`` and ``get_actions`` answer one slot per key, in the keys' order: the record, ``None`` when the
    key does not exist, or the :class:`~gateway.errors.HookgateError` that failed that key alone (say, FORBIDDEN for
    a request the reading user may not see). They raise when no key could be answered. The slots fit a DataLoader
    batch function as they are: it rejects just the keys whose slot holds an exception.
    """

    async def get_requests(self, numbers: Sequence[int]) -> list[WorkflowRequestRecord | HookgateError | None]: ...

    async def get_actions(
        self, keys: Sequence[tuple[int, int]]
    ) -> list[WorkflowActionRecord | HookgateError | None]: ...

    async def run_operation(self, operation: str, input: Mapping[str, Any]) -> dict[str, Any]: ...


class Conversations(Protocol):
    """Conversation flows (DRUID)."""

    async def start_flow(self, bot_id: str, body: Mapping[str, Any]) -> JSON: ...

    async def start_flows(self, bot_id: str, items: Sequence[Mapping[str, Any]]) -> JSON: ...

    async def signal(self, bot_id: str, signal: str, data: JSON) -> JSON: ...


P = TypeVar("P")


def require(adapter: Adapter, capability: Capability, protocol: type[P]) -> P:
    """``adapter`` as ``protocol``, or CAPABILITY_UNSUPPORTED naming the source and the capability."""
    if capability not in adapter.capabilities:
        raise CapabilityUnsupported(
            f"source '{adapter.name}' ({adapter.kind}) does not support {capability.value}",
            source=adapter.name,
            provider=adapter.kind,
            capability=capability.value,
        )
    return cast(P, adapter)
