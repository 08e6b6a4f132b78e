"""Object types of the schema, built from domain records with ``from_record``. Types load nothing.

Plain fields are plain attributes (no resolver), which keeps them on the execution fast path (``gateway/execution/``).
A webhook's joined fields (``eventTypes``, ``deliveryStatuses``) are plain too: ``resolvers/joins.py`` prepares their
values (the list, or a :class:`~resolvers.loading.Later` that loads only if the field is selected) and hands them to
:meth:`Webhook.from_records`. A dashboard of hundreds of webhooks thus makes no resolver call per webhook.
Fields with arguments or of their own (``deliveryLog``, ``WorkflowAction.request``) are field resolvers that only
delegate to the request's loaders in ``resolvers/loading.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from gateway.context import Info
from gateway.domain.records import (
    DataValueRecord,
    DeliveryDetailRecord,
    DeliveryLogRecord,
    DeliveryStatusRecord,
    EventTypeRecord,
    FileValueRecord,
    WebhookRecord,
    WorkflowActionRecord,
    WorkflowRequestRecord,
    WorkflowUserRecord,
)
from resolvers import loading
from schema.enums import Capability, CircuitState, Provider, provider_of
from schema.ids import encode_id


@strawberry.interface(description="An object with a global id: fetch it again with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The global id: opaque, stable, valid in `node(id:)`.")


@strawberry.type(description="One configured backend account.")
class Source:
    name: str = strawberry.field(description="The source's configured name: what `source` arguments take.")
    provider: Provider = strawberry.field(description="The kind of backend.")
    capabilities: list[Capability] = strawberry.field(
        description="What this source can do; asking it for anything else is an error naming the capability."
    )
    sandbox: bool = strawberry.field(description="Whether the source points at the built-in sandbox simulators.")
    circuit: CircuitState = strawberry.field(description="Its circuit breaker's state: OPEN while it keeps failing.")


@strawberry.type(description="An event a source can deliver: an entry of its catalogue (UiPath, Dixa and Auco).")
class EventType:
    provider: Provider = strawberry.field(description="The kind of backend.")
    source: str = strawberry.field(description="The source whose catalogue this is.")
    name: str = strawberry.field(
        description="The name webhooks subscribe with: `job.completed` (UiPath), `ConversationCreated` (Dixa), "
        "`document.FINISH` (Auco)."
    )
    group: str = strawberry.field(
        description="The family: UiPath's group, Dixa's leading word (`Conversation`), Auco's `document` or `package`."
    )
    description: str | None = strawberry.field(description="The provider's description, where it gives one.")

    @classmethod
    def from_record(cls, record: EventTypeRecord) -> EventType:
        return cls(
            provider=provider_of(record.provider),
            source=record.source,
            name=record.name,
            group=record.group,
            description=record.description,
        )


@strawberry.type(description="One delivery attempt as the provider recorded it.")
class DeliveryDetail:
    delivered_at: datetime = strawberry.field(description="When the provider sent it.")
    success: bool = strawberry.field(description="Whether the receiver accepted it.")
    response_code: int | None = strawberry.field(description="The HTTP status the receiver answered.")
    response_text: str | None = strawberry.field(description="The receiver's answer, as the provider recorded it.")

    @classmethod
    def from_record(cls, record: DeliveryDetailRecord) -> DeliveryDetail:
        return cls(
            delivered_at=record.delivered_at,
            success=record.success,
            response_code=record.response_code,
            response_text=record.response_text,
        )


@strawberry.type(description="The last delivery of one event type to a webhook.")
class DeliveryStatus:
    event: str = strawberry.field(description="The event type's name.")
    last_delivery: DeliveryDetail | None = strawberry.field(description="Null when nothing was delivered recently.")

    @classmethod
    def from_record(cls, record: DeliveryStatusRecord) -> DeliveryStatus:
        last = record.last_delivery
        return cls(event=record.event, last_delivery=DeliveryDetail.from_record(last) if last else None)


@strawberry.type(description="A logged delivery with the payload that was sent.")
class DeliveryLogEntry:
    delivery: DeliveryDetail = strawberry.field(description="How the delivery went.")
    payload: JSON = strawberry.field(description="The JSON body that was sent.")

    @classmethod
    def from_record(cls, record: DeliveryLogRecord) -> DeliveryLogEntry:
        return cls(delivery=DeliveryDetail.from_record(record.delivery), payload=record.payload)


_new_object = object.__new__


@strawberry.type(description="A webhook registered with a provider. Secrets and credentials are write-only.")
class Webhook(Node):
    id: strawberry.ID = strawberry.field(description="The global id: what updateWebhook, deleteWebhook and node take.")
    source: str = strawberry.field(description="The source it is registered with.")
    provider: Provider = strawberry.field(description="The kind of backend.")
    provider_id: str = strawberry.field(description="The provider's own id of this webhook.")
    name: str | None = strawberry.field(description="UiPath's Name, Dixa's name, Auco's description; null elsewhere.")
    description: str | None = strawberry.field(description="UiPath's Description; null elsewhere.")
    url: str = strawberry.field(description="Where the provider sends the events.")
    enabled: bool = strawberry.field(description="Whether the provider sends events to it now.")
    subscribe_to_all_events: bool = strawberry.field(
        description=(
            "Whether it receives every event type, present and future. On Auco only the `default` webhook does; "
            "another Auco webhook receives a document's notifications only when its id was listed as that "
            "document was created."
        )
    )
    events: list[str] = strawberry.field(
        description=(
            "Names of the subscribed event types; empty when it receives every event. Auco webhooks other than "
            "`default` list every type they can receive, for the documents that name them."
        )
    )
    has_secret: bool = strawberry.field(
        description="Whether deliveries are signed: UiPath's secret, Dixa's secret key. Never returned."
    )
    allow_insecure_ssl: bool | None = strawberry.field(
        description="UiPath: deliveries accept an invalid TLS certificate. Null elsewhere."
    )
    authorization_type: str | None = strawberry.field(
        description="BASIC, TOKEN, HEADER or NONE; never the credentials."
    )
    created_at: datetime | None = strawberry.field(description="When it was created (Dixa); null elsewhere.")
    updated_at: datetime | None = strawberry.field(description="When it was last changed (Dixa); null elsewhere.")
    created_by: str | None = strawberry.field(
        description="The provider's id of the user who created it (Dixa's createdBy, a user id); null elsewhere."
    )
    updated_by: str | None = strawberry.field(
        description="The provider's id of the user who last changed it (Dixa's updatedBy, a user id); null elsewhere."
    )
    event_types: list[EventType] = strawberry.field(
        description="The subscribed event types, from the source's catalogue."
    )
    delivery_statuses: list[DeliveryStatus] | None = strawberry.field(
        description="The last delivery per subscribed event type (Dixa); null where the provider keeps none."
    )

    @classmethod
    def from_record(
        cls, record: WebhookRecord, event_types: list[EventType], delivery_statuses: list[DeliveryStatus] | None
    ) -> Webhook:
        """The webhook of ``record``, its joined fields given (``resolvers/joins.py`` prepares them)."""
        return cls.from_records((record,), ((event_types, delivery_statuses),))[0]

    @classmethod
    def from_records(
        cls,
        records: Iterable[WebhookRecord],
        joined: Iterable[tuple[list[EventType], list[DeliveryStatus] | None]],
    ) -> list[Webhook]:
        """:meth:`from_record` of each record with its (eventTypes, deliveryStatuses) from ``joined``.

        Made without the dataclass ``__init__``: matching its keyword arguments cost about as much as the rest
        of building a webhook, and a dashboard builds hundreds per request. The attributes set are exactly the
        dataclass fields (a test compares this with the ``__init__`` made object, so a new field cannot be missed);
        the class has no ``__post_init__``.
        """
        hooks: list[Webhook] = []
        for record, (event_types, delivery_statuses) in zip(records, joined, strict=True):
            source = record.source
            hook = _new_object(cls)
            hook.id = encode_id("Webhook", source, record.provider_id)  # type: ignore[assignment]  # ID is a NewType
            hook.source = source
            hook.provider = provider_of(record.provider)
            hook.provider_id = record.provider_id
            hook.name = record.name
            hook.description = record.description
            hook.url = record.url
            hook.enabled = record.enabled
            hook.subscribe_to_all_events = record.subscribe_to_all_events
            hook.events = list(record.events)
            hook.has_secret = record.has_secret
            hook.allow_insecure_ssl = record.allow_insecure_ssl
            hook.authorization_type = record.authorization_type
            hook.created_at = record.created_at
            hook.updated_at = record.updated_at
            hook.created_by = record.created_by
            hook.updated_by = record.updated_by
            hook.event_types = event_types
            hook.delivery_statuses = delivery_statuses
            hooks.append(hook)
        return hooks

    @strawberry.field(
        description="Logged deliveries of one event type, newest first (Dixa); null where the provider keeps none."
    )
    async def delivery_log(
        self,
        info: Info,
        event: Annotated[str, strawberry.argument(description="An event type name, as in `events`.")],
        first: Annotated[int | None, strawberry.argument(description="At most this many (default 20).")] = 20,
    ) -> list[DeliveryLogEntry] | None:
        records = await loading.delivery_log(info, self.source, self.provider_id, event, 20 if first is None else first)
        return None if records is None else [DeliveryLogEntry.from_record(r) for r in records]


@strawberry.type(description="A WorkflowGen user.")
class WorkflowUser:
    id: strawberry.ID | None = strawberry.field(
        description="WorkflowGen's id of the user: what `onBehalfOf` and `assigneeId` take."
    )
    user_name: str = strawberry.field(description="The user's login name.")

    @classmethod
    def from_record(cls, record: WorkflowUserRecord | None) -> WorkflowUser | None:
        if record is None:
            return None
        return cls(id=strawberry.ID(record.id) if record.id else None, user_name=record.user_name)


@strawberry.type(description="A file held in a FILE data value (its content is not returned).")
class FileValue:
    name: str = strawberry.field(description="The file name.")
    content_type: str | None = strawberry.field(description="Its media type, e.g. `application/pdf`.")
    size: int | None = strawberry.field(description="Its size in bytes.")
    description: str | None = strawberry.field(description="The description given with the file.")
    updated_at: datetime | None = strawberry.field(
        default=None, description="When the file last changed, as given with it (`FileInput.updatedAt`)."
    )

    @classmethod
    def from_record(cls, record: FileValueRecord | None) -> FileValue | None:
        if record is None:
            return None
        return cls(
            name=record.name,
            content_type=record.content_type,
            size=record.size,
            description=record.description,
            updated_at=record.updated_at,
        )


@strawberry.type(description="One process data value of a request.")
class DataValue:
    name: str = strawberry.field(description="The process data's name, e.g. `AMOUNT`.")
    text_value: str | None = strawberry.field(description="The value of TEXT data.")
    numeric_value: float | None = strawberry.field(description="The value of NUMERIC data.")
    date_time_value: datetime | None = strawberry.field(description="The value of DATETIME data.")
    file_value: FileValue | None = strawberry.field(description="The value of FILE data.")

    @classmethod
    def from_record(cls, record: DataValueRecord) -> DataValue:
        return cls(
            name=record.name,
            text_value=record.text_value,
            numeric_value=record.numeric_value,
            date_time_value=record.date_time_value,
            file_value=FileValue.from_record(record.file_value),
        )


def request_id(source: str, number: int) -> str:
    return encode_id("WorkflowRequest", source, number)


def action_id(source: str, request_number: int, number: int) -> str:
    return encode_id("WorkflowAction", source, f"{request_number}-{number}")


@strawberry.type(description="An action (a step) of a WorkflowGen request.")
class WorkflowAction(Node):
    id: strawberry.ID = strawberry.field(description="The global id: what the action mutations and node take.")
    source: str = strawberry.field(description="The WorkflowGen source.")
    number: int = strawberry.field(description="The action's number within its request.")
    request_number: int = strawberry.field(description="The number of its request.")
    name: str | None = strawberry.field(description="The action's name in the process, e.g. `APPROVAL`.")
    status: str | None = strawberry.field(description="WorkflowGen's status, e.g. `OPEN` or `CLOSED`.")
    assignee: WorkflowUser | None = strawberry.field(description="Who holds it; null when unassigned.")
    opened_at: datetime | None = strawberry.field(description="When it opened.")
    closed_at: datetime | None = strawberry.field(description="When it closed; null while open.")

    @classmethod
    def from_record(cls, record: WorkflowActionRecord) -> WorkflowAction:
        return cls(
            id=strawberry.ID(action_id(record.source, record.request_number, record.number)),
            source=record.source,
            number=record.number,
            request_number=record.request_number,
            name=record.name,
            status=record.status,
            assignee=WorkflowUser.from_record(record.assignee),
            opened_at=record.opened_at,
            closed_at=record.closed_at,
        )

    @strawberry.field(description="The request this action belongs to.")
    async def request(self, info: Info) -> WorkflowRequest | None:
        record = await loading.request(info, self.source, self.request_number)
        return None if record is None else WorkflowRequest.from_record(record)


@strawberry.type(description="A WorkflowGen request: one run of a process.")
class WorkflowRequest(Node):
    id: strawberry.ID = strawberry.field(description="The global id: what the request mutations and node take.")
    source: str = strawberry.field(description="The WorkflowGen source.")
    number: int = strawberry.field(description="WorkflowGen's request number.")
    process_name: str | None = strawberry.field(description="The process it runs, e.g. `EXPENSE_CLAIM`.")
    process_version: int | None = strawberry.field(description="The version of that process.")
    status: str | None = strawberry.field(description="WorkflowGen's status, e.g. `OPEN` or `CLOSED`.")
    description: str | None = strawberry.field(description="The request's description.")
    opened_at: datetime | None = strawberry.field(description="When it was launched.")
    closed_at: datetime | None = strawberry.field(description="When it closed; null while open.")
    actions: list[WorkflowAction] = strawberry.field(description="Its actions (steps), open and closed.")
    dataset: list[DataValue] = strawberry.field(description="Its process data values.")

    @classmethod
    def from_record(cls, record: WorkflowRequestRecord) -> WorkflowRequest:
        return cls(
            id=strawberry.ID(request_id(record.source, record.number)),
            source=record.source,
            number=record.number,
            process_name=record.process_name,
            process_version=record.process_version,
            status=record.status,
            description=record.description,
            opened_at=record.opened_at,
            closed_at=record.closed_at,
            actions=[WorkflowAction.from_record(a) for a in record.actions],
            dataset=[DataValue.from_record(d) for d in record.dataset],
        )


@strawberry.type(description="An event a provider delivered to the gateway, as kept in its durable log.")
class InboundEvent(Node):
    id: strawberry.ID = strawberry.field(description="The global id: `node(id:)` fetches it while it is retained.")
    cursor: str = strawberry.field(
        description="Its place in the log: give it as `after` to `inboundEvents` or `events` to go on from here."
    )
    source: str = strawberry.field(description="The source that delivered it (to `/hooks/{source}`).")
    provider: Provider = strawberry.field(description="The kind of backend.")
    type: str = strawberry.field(
        description="The event type: `job.completed` (UiPath), `ConversationCreated` (Dixa), `document.FINISH` "
        "(Auco), the payload's `type` (WorkflowGen); `unknown` when the delivery names none."
    )
    provider_event_id: str | None = strawberry.field(
        description="The provider's id of the event, by which a redelivery is recognised."
    )
    received_at: datetime = strawberry.field(description="When the gateway received it.")
    occurred_at: datetime | None = strawberry.field(description="When it happened, as the provider says.")
    payload: JSON = strawberry.field(description="The delivered JSON body.")
