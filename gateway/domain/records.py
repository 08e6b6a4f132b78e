"""Plain records the adapters return, named after the upstream's concepts and free of any GraphQL.

Part of the neutral domain: this module imports nothing of the rest of Hookgate, nor Strawberry, Starlette or httpx.

``schema/`` builds its types from these with ``from_record``. Records are frozen, slotted dataclasses: cheap to
make by the thousand and safe to cache. Secrets never enter a record: an adapter turns them into ``has_secret`` or
``authorization_type`` while parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

JSON = Any


class Capability(StrEnum):
    """What a source can do. Names are the GraphQL enum's."""

    WEBHOOKS = "WEBHOOKS"
    EVENT_TYPES = "EVENT_TYPES"
    PING = "PING"
    DELIVERY_LOGS = "DELIVERY_LOGS"
    WORKFLOW = "WORKFLOW"
    CONVERSATIONS = "CONVERSATIONS"
    INBOUND_EVENTS = "INBOUND_EVENTS"
    CUSTOM_EVENTS = "CUSTOM_EVENTS"


class CircuitState(StrEnum):
    """A source's circuit breaker (``gateway/providers/breaker.py``): CLOSED → OPEN → HALF_OPEN → CLOSED or OPEN."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True, slots=True)
class EventTypeRecord:
    provider: str
    source: str
    name: str
    group: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    source: str
    provider: str
    provider_id: str
    url: str
    enabled: bool = True
    subscribe_to_all_events: bool = False
    events: tuple[str, ...] = ()
    name: str | None = None
    description: str | None = None
    has_secret: bool = False
    allow_insecure_ssl: bool | None = None
    authorization_type: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookFilter:
    """Filters a list of webhooks. Adapters push down what their API can filter; the gateway applies the rest."""

    enabled: bool | None = None
    url: str | None = None
    event_type: str | None = None

    def matches(self, record: WebhookRecord) -> bool:
        if self.enabled is not None and record.enabled != self.enabled:
            return False
        if self.url is not None and record.url != self.url:
            return False
        return self.event_type is None or record.subscribe_to_all_events or self.event_type in record.events


@dataclass(frozen=True, slots=True)
class WebhookAuthorization:
    """How a provider authenticates its deliveries to the webhook's URL. Credentials are write-only."""

    type: str  # BASIC, TOKEN, HEADER, NONE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    header_key: str | None = None
    header_value: str | None = field(default=None, repr=False)


class Unset(Enum):
    """Marks a field an update leaves as it is (``None`` means: set to nothing)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """What a create or update asks for. In an update, ``UNSET`` fields stay as they are."""

    url: str | Unset = UNSET
    events: tuple[str, ...] | Unset = UNSET
    subscribe_to_all_events: bool | Unset = UNSET
    enabled: bool | Unset = UNSET
    name: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    provider_id: str | Unset = UNSET
    secret: str | Unset | None = field(default=UNSET, repr=False)
    allow_insecure_ssl: bool | Unset = UNSET
    authorization: WebhookAuthorization | Unset = UNSET
    custom_headers: dict[str, str] | Unset | None = field(default=UNSET, repr=False)  # None clears them

    def given(self) -> frozenset[str]:
        """Names of the fields the caller set."""
        return frozenset(name for name in self.__dataclass_fields__ if getattr(self, name) is not UNSET)


@dataclass(frozen=True, slots=True)
class DeliveryDetailRecord:
    delivered_at: datetime
    success: bool
    response_code: int | None = None
    response_text: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryStatusRecord:
    event: str
    last_delivery: DeliveryDetailRecord | None


@dataclass(frozen=True, slots=True)
class DeliveryLogRecord:
    delivery: DeliveryDetailRecord
    payload: JSON


@dataclass(frozen=True, slots=True)
class PingRecord:
    type: str
    event_id: str
    timestamp: datetime
    #: Orchestrator's PingEventDto also names the tenant, folder and user the ping ran as [doc].
    tenant_id: str | None = None
    organization_unit_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class CustomEventRecord:
    """The event a provider raised on request (UiPath's TriggerCustom answers a CustomEventDto)."""

    type: str
    event_id: str
    timestamp: datetime
    event_type: str
    data: JSON = None


@dataclass(frozen=True, slots=True)
class WorkflowUserRecord:
    user_name: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class FileValueRecord:
    name: str
    content_type: str | None = None
    size: int | None = None
    description: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DataValueRecord:
    name: str
    text_value: str | None = None
    numeric_value: float | None = None
    date_time_value: datetime | None = None
    file_value: FileValueRecord | None = None


@dataclass(frozen=True, slots=True)
class WorkflowActionRecord:
    source: str
    provider_id: str  # WorkflowGen's own global id ("Action:1---2", base64)
    number: int
    request_number: int
    name: str | None = None
    status: str | None = None
    assignee: WorkflowUserRecord | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WorkflowRequestRecord:
    source: str
    provider_id: str  # WorkflowGen's own global id ("Request:1", base64)
    number: int
    process_name: str | None = None
    process_version: int | None = None
    status: str | None = None
    description: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    requester: WorkflowUserRecord | None = None
    actions: tuple[WorkflowActionRecord, ...] = ()
    dataset: tuple[DataValueRecord, ...] = ()


#: The process data a WorkflowGen web form (EFORMASPX) reads and writes its dataset through [doc]: ``completeAction``'s
#: ``form`` is sent as this FILE parameter.
FORM_DATA = "FORM_DATA"
#: What a web form's field id or dataset table may be: an XML name without a namespace prefix, in ASCII.
FORM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")

#: ``ActionListFilter.assignee`` for "the user the gateway acts as" (the impersonated user).
ME = "me"


@dataclass(frozen=True, slots=True)
class RequestListFilter:
    """What ``requests`` keeps; None: no condition. ``statuses`` empty matches nothing."""

    statuses: frozenset[str] | None = None
    process_name: str | None = None
    requester: str | None = None  # a user name
    created_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActionListFilter:
    """What ``actions`` keeps; None: no condition. ``assignee`` is a user name, or :data:`ME`."""

    statuses: frozenset[str] | None = None
    assignee: str | None = None
    process_name: str | None = None
    request_number: int | None = None
    created_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class WorkflowPage:
    """One page of a list: the items from ``offset`` on, how many match in all, and whether more follow."""

    items: tuple[Any, ...]
    total: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What ``hookgate check`` prints for one source."""

    reachable: bool
    authenticated: bool
    detail: str = ""
    #: The probe's call answered 404: the host answers, but the configured path (``base_url``) is wrong.
    not_found: bool = False
