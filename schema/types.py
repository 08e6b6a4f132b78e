"""Object types of the schema, built from provider records with ``from_record``.

Plain fields are plain attributes (no resolver), which keeps them on the execution fast path (``gateway/execution/``).
A webhook's joined fields (``eventTypes``, ``deliveryStatuses``) are plain too: :class:`WebhookJoins` fills them when
the webhook is built, from the catalogue already at hand, or with a :class:`~resolvers.loading.Later` that loads
only if the field is selected. A dashboard of hundreds of webhooks thus makes no resolver call per webhook.
Fields with arguments or of their own (``deliveryLog``, ``WorkflowAction.request``) have resolvers, which go through
the request's loaders in ``resolvers/loading.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, ClassVar, cast

import strawberry
from strawberry.scalars import JSON

from gateway.context import Info, path_of
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
from schema.enums import Capability, CircuitState, Provider
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
            provider=Provider(record.provider),
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


#: Provider by kind: a dict look-up where ``Provider(kind)`` would go through the enum machinery, per webhook.
_PROVIDERS = {provider.value: provider for provider in Provider}
_new_object = object.__new__


class WebhookJoins:
    """Fills a webhook's joined fields for one resolver call: built with ``WebhookJoins(info)`` by whatever makes
    webhooks (the list, ``webhook``, ``node(s)``, the mutations), and passed to :meth:`Webhook.from_record`.

    ``eventTypes``: when the source's catalogue is at hand (this request loaded it, or the cross-request cache holds
    it, the usual case) the list is made at once, from EventType objects made once per request per source; otherwise
    it is loaded if selected, and a failing catalogue answers [] with one error at the path of the field that made the
    webhooks. ``deliveryStatuses``: null at once where the source keeps none; otherwise loaded if selected, through
    the request's loader, and a failure is an error at the field's own path.
    """

    def __init__(self, info: Info) -> None:
        self._ctx = info.context
        self._path = path_of(info)
        # Per source, decided once per call: what eventTypes and deliveryStatuses take (hundreds of webhooks share it).
        self._event_types: dict[str, _Catalogue | bool | None] = {}
        self._keeps_statuses: dict[str, bool] = {}

    def _catalogue(self, source: str) -> _Catalogue | bool | None:
        """The source's catalogue at hand; None if it has to be loaded; False if the source has none."""
        known = self._event_types.get(source, True)
        if known is True:
            adapter = self._ctx.services.adapters.get(source)
            if adapter is None or not adapter.has(Capability.EVENT_TYPES):
                known = False
            else:
                records = self._ctx.loaders.known_event_types(source)
                known = None if records is None else _Catalogue.of(records)
            self._event_types[source] = known
        return known

    def event_types(self, record: WebhookRecord) -> list[EventType]:
        """The subscribed event types in catalogue order: the list, or an awaitable of it (typed as the list, since
        graphql-core awaits a field value that is awaitable; see :class:`~resolvers.loading.Later`)."""
        known = self._catalogue(record.source)
        if known:
            assert isinstance(known, _Catalogue)
            return known.pick(record)
        if known is False:
            return []
        ctx, path, source = self._ctx, self._path, record.source

        async def load() -> list[EventType]:
            return _Catalogue.of(await loading.event_types_or_report(ctx, source, path)).pick(record)

        return cast("list[EventType]", loading.Later(load))

    def of_source(self, source: str) -> tuple[_Catalogue | None, bool]:
        """(the source's catalogue if it is at hand, whether the source keeps delivery statuses): what
        :meth:`event_types` and :meth:`delivery_statuses` decide per source, for a caller building many webhooks."""
        known = self._catalogue(source)
        return (known if isinstance(known, _Catalogue) else None), self._keeps(source)

    def _keeps(self, source: str) -> bool:
        keeps = self._keeps_statuses.get(source)
        if keeps is None:
            adapter = self._ctx.services.adapters.get(source)
            keeps = self._keeps_statuses[source] = adapter is not None and adapter.has(Capability.DELIVERY_LOGS)
        return keeps

    def delivery_statuses(self, record: WebhookRecord) -> list[DeliveryStatus] | None:
        """None where the source keeps no delivery statuses; otherwise an awaitable of them (typed as the list)."""
        if not self._keeps(record.source):
            return None
        ctx = self._ctx

        async def load() -> list[DeliveryStatus] | None:
            records = await loading.delivery_statuses_of(ctx, record.source, record.provider_id)
            return None if records is None else [DeliveryStatus.from_record(r) for r in records]

        return cast("list[DeliveryStatus] | None", loading.Later(load))


class _Catalogue:
    """A source's event types as schema objects, made once and shared by the webhooks that subscribe to them."""

    __slots__ = ("index", "picked", "records", "types")

    #: Bound on the event-name sets remembered per catalogue (a tenant has few distinct subscriptions).
    _MAX_PICKED: ClassVar[int] = 4096

    #: The last few, by the identity of the records list: the cross-request catalogue cache hands every request the
    #: same list while it is fresh, so its EventType objects are made once, not once per request.
    _recent: ClassVar[dict[int, _Catalogue]] = {}

    def __init__(self, records: list[EventTypeRecord]) -> None:
        self.records = records  # kept alive while cached: the key is its id()
        self.types = [EventType.from_record(r) for r in records]
        self.index = {t.name: i for i, t in enumerate(self.types)}
        #: The list picked for each set of subscribed names: webhooks are parsed anew on every request, but their
        #: event names repeat, and this catalogue object lives as long as the cached catalogue does.
        self.picked: dict[tuple[str, ...], list[EventType]] = {}

    @classmethod
    def of(cls, records: list[EventTypeRecord]) -> _Catalogue:
        found = cls._recent.get(id(records))
        if found is None or found.records is not records:
            if len(cls._recent) >= 32:
                cls._recent.clear()
            found = cls._recent[id(records)] = cls(records)
        return found

    def pick(self, record: WebhookRecord) -> list[EventType]:
        """The record's subscribed event types, in catalogue order.

        The list may be shared with other webhooks (of this request or a later one): nothing mutates a field value.
        """
        if record.subscribe_to_all_events:
            return self.types
        events = record.events
        found = self.picked.get(events)
        if found is None:
            index, types = self.index, self.types
            positions = [index[name] for name in events if name in index]
            positions.sort()
            found = [types[i] for i in positions]
            if len(self.picked) >= self._MAX_PICKED:
                self.picked.clear()
            self.picked[events] = found
        return found


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
        description="Whether it receives every event type, present and future (always true on Auco)."
    )
    events: list[str] = strawberry.field(
        description="Names of the subscribed event types; empty when it receives every event."
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
    event_types: list[EventType] = strawberry.field(
        description="The subscribed event types, from the source's catalogue."
    )
    delivery_statuses: list[DeliveryStatus] | None = strawberry.field(
        description="The last delivery per subscribed event type (Dixa); null where the provider keeps none."
    )

    @classmethod
    def from_record(cls, record: WebhookRecord, joins: WebhookJoins) -> Webhook:
        """The webhook of ``record``; ``joins`` fills eventTypes and deliveryStatuses (see :class:`WebhookJoins`)."""
        return cls.from_records((record,), joins)[0]

    @classmethod
    def from_records(cls, records: Iterable[WebhookRecord], joins: WebhookJoins) -> list[Webhook]:
        """:meth:`from_record` of each record, with what the joins decide per source decided once per run of records
        of one source (a page of hundreds of webhooks comes from a few sources).

        Made without the dataclass ``__init__``: matching its sixteen keyword arguments cost about as much as the rest
        of building a webhook, and a dashboard builds hundreds per request. The attributes set are exactly the
        dataclass fields (a test compares this with the ``__init__`` made object, so a new field cannot be missed);
        the class has no ``__post_init__``.
        """
        hooks: list[Webhook] = []
        source: str | None = None
        catalogue: _Catalogue | None = None
        keeps = False
        for record in records:
            if record.source != source:
                source = record.source
                catalogue, keeps = joins.of_source(source)
            hook = _new_object(cls)
            hook.id = encode_id("Webhook", source, record.provider_id)  # type: ignore[assignment]  # ID is a NewType
            hook.source = source
            hook.provider = _PROVIDERS.get(record.provider) or Provider(record.provider)
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
            if catalogue is None:
                hook.event_types = joins.event_types(record)
            elif record.subscribe_to_all_events:
                hook.event_types = catalogue.types
            else:
                picked = catalogue.picked.get(record.events)
                hook.event_types = catalogue.pick(record) if picked is None else picked
            hook.delivery_statuses = joins.delivery_statuses(record) if keeps else None
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

    @classmethod
    def from_record(cls, record: FileValueRecord | None) -> FileValue | None:
        if record is None:
            return None
        return cls(name=record.name, content_type=record.content_type, size=record.size, description=record.description)


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
