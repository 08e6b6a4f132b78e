"""The ports: what a configured source is (:class:`Source`) and one small Protocol per capability it may declare.

A source is one configured backend (a name, a kind, credentials) and implements the Protocols of the capabilities it
declares in ``capabilities``. :data:`PROTOCOLS` is the one map from capability to Protocol: a provider kind is checked
against it when it registers (``gateway/providers/registry.py``), and callers reach a capability through
``gateway.capabilities.require(source, WebhookRegistry)``, which checks the map (:func:`provides`) and answers the
source typed as the Protocol, or raises ``CAPABILITY_UNSUPPORTED`` naming the source and the capability.

Contracts every adapter keeps (the contract suite in ``tests/providers`` holds them to it):

- batch reads (``get_webhooks``, ``get_requests``...) return one item per key, in the keys' order, ``None`` for a
  key that does not exist; missing is not an error. Where one upstream answer can fail some keys and serve others
  (:class:`Workflow`'s aliased GraphQL documents), a failed key's slot holds its error *instance* instead, and the
  call raises only when the whole answer failed (HTTP error, timeout, open circuit);
- lists follow the provider's paging to the end;
- parsing is tolerant: unknown fields are ignored, optional fields may be absent, either casing where noted;
- every upstream call goes through the adapter's upstream client, so errors arrive as the error tree of
  ``gateway/errors.py``;
- secrets given to a write never come back in a record.

Part of the neutral domain: this module imports nothing of the rest of Hookgate, nor Strawberry, Starlette or httpx.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Final, Protocol, TypeGuard, TypeVar

from gateway.domain.records import (
    JSON,
    ActionListFilter,
    Capability,
    CircuitState,
    CustomEventRecord,
    DeliveryLogRecord,
    DeliveryStatusRecord,
    EventTypeRecord,
    PingRecord,
    ProbeResult,
    RequestListFilter,
    WebhookFilter,
    WebhookRecord,
    WebhookSpec,
    WorkflowActionRecord,
    WorkflowPage,
    WorkflowRequestRecord,
)


class Source(Protocol):
    """One configured source, whatever its kind: what the runtime, the loaders and the resolvers hold."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def sandbox(self) -> bool:
        """Pointed at the built-in sandbox's simulators."""
        ...

    @property
    def circuit(self) -> CircuitState:
        """The state of the source's circuit breaker, read without an upstream call."""
        ...

    def has(self, capability: Capability) -> bool: ...

    async def probe(self) -> ProbeResult:
        """Reachable and authenticated? One cheap read; never raises for a failed call."""
        ...

    async def aclose(self) -> None: ...


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
    """The event types a source can deliver: from the provider's endpoint, or the kind's documented list."""

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
    key does not exist, or the exception (a ``gateway.errors.HookgateError``) that failed that key alone (say,
    FORBIDDEN for a request the reading user may not see). They raise when no key could be answered. The slots fit a
    DataLoader batch function as they are: it rejects just the keys whose slot holds an exception.
    """

    async def get_requests(self, numbers: Sequence[int]) -> list[WorkflowRequestRecord | Exception | None]: ...

    async def get_actions(self, keys: Sequence[tuple[int, int]]) -> list[WorkflowActionRecord | Exception | None]: ...

    async def list_requests(self, filter: RequestListFilter, offset: int, limit: int) -> WorkflowPage:
        """Requests matching ``filter`` (oldest first), ``limit`` of them from ``offset`` on."""
        ...

    async def list_actions(self, filter: ActionListFilter, offset: int, limit: int) -> WorkflowPage:
        """Actions matching ``filter``, ``limit`` of them from ``offset`` on."""
        ...

    async def run_operation(self, operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
        """Run one write, sent once. The answer is the payload in the nested shape (``request``/``action`` objects
        with their numbers where the answer gave them, in any of its shapes); :data:`ANSWER_WARNINGS` holds what
        could not be read of a write that was done."""
        ...


#: Key of :meth:`Workflow.run_operation`'s answer: a list of texts, each a part of the answer that could not be read.
ANSWER_WARNINGS: Final = "_warnings"


class Conversations(Protocol):
    """Conversation flows (DRUID)."""

    async def start_flow(self, bot_id: str, body: Mapping[str, Any]) -> JSON: ...

    async def start_flows(self, bot_id: str, items: Sequence[Mapping[str, Any]]) -> JSON: ...

    async def signal(self, bot_id: str, signal: str, data: JSON) -> JSON: ...


class InboundEvents(Protocol):
    """Deliveries to ``POST /hooks/{source}``. The adapter has nothing to implement for it: the kind's ``inbound``
    module verifies and normalises deliveries, and the kit registers it."""


#: The one map from a capability to the Protocol a source declaring it implements. Checked to cover every capability.
PROTOCOLS: Final[Mapping[Capability, type[Any]]] = MappingProxyType(
    {
        Capability.WEBHOOKS: WebhookRegistry,
        Capability.EVENT_TYPES: EventCatalogue,
        Capability.PING: WebhookPinger,
        Capability.DELIVERY_LOGS: DeliveryLogs,
        Capability.WORKFLOW: Workflow,
        Capability.CONVERSATIONS: Conversations,
        Capability.INBOUND_EVENTS: InboundEvents,
        Capability.CUSTOM_EVENTS: CustomEvents,
    }
)
_CAPABILITY_OF: Final[Mapping[type[Any], Capability]] = MappingProxyType(
    {protocol: capability for capability, protocol in PROTOCOLS.items()}
)
if set(PROTOCOLS) != set(Capability) or len(_CAPABILITY_OF) != len(PROTOCOLS):  # pragma: no cover - a wrong edit
    raise RuntimeError("gateway.domain.ports.PROTOCOLS must map every Capability to its own Protocol")

P = TypeVar("P")


def capability_of(protocol: type[Any]) -> Capability:
    """The capability whose Protocol is ``protocol``; KeyError for a class that is no capability's Protocol."""
    return _CAPABILITY_OF[protocol]


def provides(source: Source, protocol: type[P]) -> TypeGuard[P]:
    """Does ``source`` declare the capability whose Protocol is ``protocol``? Narrows ``source`` to it when so."""
    return capability_of(protocol) in source.capabilities


def protocol_members(protocol: type[Any]) -> dict[str, bool]:
    """The members a Protocol asks for, each with whether it is a coroutine method (``async def``)."""
    names = {name for name in vars(protocol) if not name.startswith("_")} | set(
        getattr(protocol, "__annotations__", {})
    )
    return {name: inspect.iscoroutinefunction(getattr(protocol, name, None)) for name in sorted(names)}


def missing_members(implementation: type[Any], capabilities: frozenset[Capability]) -> list[str]:
    """``Protocol.member`` for each member of a declared capability's Protocol that ``implementation`` lacks (or has
    as a plain function where an ``async def`` is asked). Empty when the class implements every declared capability."""
    missing = []
    for capability in sorted(capabilities, key=lambda c: c.value):
        protocol = PROTOCOLS[capability]
        for name, is_async in protocol_members(protocol).items():
            member = getattr(implementation, name, None)
            if member is None or (is_async and not inspect.iscoroutinefunction(member)):
                missing.append(f"{protocol.__name__}.{name}")
    return missing
