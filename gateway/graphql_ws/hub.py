"""The live hub: each distinct live ``events`` subscription is executed once per event, and the same serialized
payload goes to every subscriber of it, only the operation ``id`` differing in the frame.

Why. Over graphql-transport-ws, Strawberry runs one task per subscription: per event and per subscriber it wakes the
task, executes the selection set (about 80 µs) and frames a message. At 5,000 subscribers that is 400 ms of one
core per event, while the subscribers of a dashboard all ask the same thing.

How it fits together:

- One :class:`LiveHub` per runtime, over its broker: ``open_runtime`` builds it once the broker is open, and the
  request context carries it (``runtime.live``). Nothing here is process-wide.
- Each operation of a WebSocket runs with a context naming it (``Context.ws_operation``, an
  :class:`~gateway.graphql_ws.protocol.OperationSlot` with its connection's ordered writer: see protocol.py).
- The resolver replays from its cursor as before (executed per subscriber: replays differ), then, instead of keeping
  a broker queue of its own, joins a :class:`LiveGroup` through :meth:`LiveHub.join`. A group is keyed by everything
  that can change the result of the live part: the document, the operation name, the variables (less one only used
  as ``after``, which only shapes the replay) and the principal. It holds *one* broker subscription and runs *one*
  Strawberry stream of the same document, with its own context (same principal) whose ``live_feed`` is the group:
  there the resolver reads the group's events. For each event it serializes the result once and appends
  ``{"id":<op id>,"type":"next","payload":<the same text>}`` to each member's connection writer.
- The seam is the broker's (see ``resolvers/events.py``): the member joins before its last replay read, the group
  buffers the member's frames meanwhile, and :meth:`Member.run` sends only those whose cursor follows the last
  replayed one. No gap, no duplicate.
- Slow subscribers: a member's *pending* frames (buffered, or queued on its connection and not yet written) are
  bounded by ``[events] subscriber_queue``. When an event finds them full the member is dropped exactly as a broker
  subscriber is (docs/events.md): its queued frames are discarded at once, and the resolver ends the subscription
  with ``RATE_LIMITED`` and ``resumeAfter`` = the cursor of the last frame of it handed to its socket.
  Writing never waits on another connection, so a slow client delays nobody else.
- A group whose own broker queue overflows (the process fell behind) drops all its members the same way; when the
  broker closes, members complete. Each process has its own groups over its own broker, so Redis fan-out across
  replicas is unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from graphql import ArgumentNode, FragmentSpreadNode, VariableNode, visit
from graphql.language import Visitor
from strawberry.types.execution import ExecutionResult
from strawberry.utils.aio import aclosing

from gateway.context import Context, Principal
from gateway.events.broker import Broker, SubscriberDropped, Subscription
from gateway.graphql_ws.protocol import OperationSlot
from gateway.store import StoredEvent, StoreUnavailable

if TYPE_CHECKING:
    from gateway.context import Info

log = logging.getLogger("hookgate.events")


# ----------------------------------------------------------------------------------------------------- the groups


class Member:
    """One subscriber of a :class:`LiveGroup`: where its frames go, and how many are pending (see the module
    docstring for the drop policy)."""

    __slots__ = ("_done", "buffer", "capacity", "dropped", "ended", "group", "last", "left", "live", "pending",
                 "prefix", "sent", "writer")  # fmt: skip

    def __init__(self, group: LiveGroup, slot: OperationSlot, capacity: int) -> None:
        self.group = group
        self.writer = slot.writer
        self.prefix = '{"id":' + orjson.dumps(slot.id).decode() + ',"type":"next","payload":'
        self.capacity = capacity
        self.buffer: list[tuple[str, str]] = []  # (cursor, payload) received while the member still replays
        self.pending = 0  # frames buffered or queued on the connection, not yet written
        self.last: str | None = None  # cursor of the last event given to this member (replayed or shared)
        self.sent: str | None = None  # cursor of the last event written to its socket: where it would resume
        self.live = False
        self.ended = False  # receives nothing more (what is queued is still written unless left or dropped)
        self.left = False  # its operation stopped on its own (complete, disconnect, an error)
        self.dropped = False
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def offer(self, cursor: str, payload: str) -> None:
        """The group's result for the event at ``cursor``; drops the member if its pending frames are full."""
        last = self.last
        if last is not None and cursor <= last:
            return  # already replayed
        if self.writer.closed:
            return  # its client is gone: the connection's shutdown ends this member
        if self.pending >= self.capacity:
            self.drop()
            return
        self.last = cursor
        self.pending += 1
        if self.live:
            self.writer.put(payload, self, cursor)
        else:
            self.buffer.append((cursor, payload))

    async def run(self, last: str | None) -> None:
        """Go live after the replay that ended at ``last``; returns when the group ends, raises
        :class:`SubscriberDropped` if this member fell behind. Its frames are sent by the group meanwhile."""
        self.sent = last  # nothing of the group's was written for it yet: resuming starts after the replay
        if not self.ended:
            self.last = last
            buffered, self.buffer = self.buffer, []
            for cursor, payload in buffered:
                if last is not None and cursor <= last:
                    self.pending -= 1  # replayed already: the seam's duplicate
                    continue
                self.last = cursor
                self.writer.put(payload, self, cursor)
            self.live = True
        await self._done

    def drop(self) -> None:
        if self.ended:
            return
        self.dropped = True
        self.buffer.clear()
        self.writer.discard(self)
        self.group.dropped(self)
        self._end(SubscriberDropped())

    def _end(self, error: BaseException | None = None) -> None:
        self.ended = True
        self.group.members.pop(self, None)
        if not self._done.done():
            if error is None:
                self._done.set_result(None)
            else:
                self._done.set_exception(error)
                self._done.exception()  # retrieved: a member that never reaches run() must not log it as lost


class _GroupFailed(Exception):
    """The group's own execution failed; each member's subscription ends with INTERNAL."""


GroupKey = tuple[str, str | None, bytes, Principal]


class LiveGroup:
    """The subscribers of one distinct live subscription, and the one execution they share (module docstring).

    Its task holds a broker subscription and a Strawberry stream of the document in which the ``events`` resolver,
    finding the group as its context's ``live_feed``, yields the broker's events: one execution per event, whatever
    the number of members.
    """

    def __init__(
        self,
        hub: LiveHub,
        key: GroupKey,
        *,
        info: Info,
        slot: OperationSlot,
        filters: dict[str, Any],
    ) -> None:
        self.hub = hub
        self.key = key
        self.members: dict[Member, None] = {}  # insertion-ordered: members get their frames in joining order
        self._schema = info.schema
        self._runtime = info.context.runtime
        self._principal: Principal = info.context.principal
        self._slot = slot
        self._filters = filters
        self._subscription: Subscription | None = None
        self._ready = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self.current: StoredEvent | None = None
        self.fell_behind = False
        self.closing = False
        self.executions = 0

    # -- lifecycle

    def start(self) -> None:
        # Empty context variables: the group belongs to no request (not the first member's, whose task creates it).
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="hookgate-events-group", context=contextvars.Context()
        )

    async def wait_ready(self) -> None:
        """Until the group's broker subscription is registered (so a member joining now misses nothing that the
        broker reads later), or raise why it could not be."""
        await self._ready.wait()
        if self._error is not None:
            raise self._error

    def leave(self, member: Member) -> None:
        if not member.ended:
            # Its operation stopped on its own (complete, disconnect, an error): what is queued for it is moot. A
            # member the group ended keeps its queued frames, which precede its last message.
            member.left = True
            member._end()
        if not self.members:
            self.close()

    def dropped(self, member: Member) -> None:
        self.hub.dropped_total += 1
        self.hub.broker.dropped_total += 1
        log.warning("dropped a subscriber that fell behind by %d events", member.capacity)

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.hub.groups.get(self.key) is self:
            del self.hub.groups[self.key]
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    # -- the feed the resolver reads in this group's task

    def __aiter__(self) -> LiveGroup:
        return self

    async def __anext__(self) -> StoredEvent:
        assert self._subscription is not None
        try:
            event = await self._subscription.__anext__()
        except SubscriberDropped:
            self.fell_behind = True
            raise StopAsyncIteration from None
        self.current = event
        return event

    # -- the task

    async def _run(self) -> None:
        ending: BaseException | None = None
        try:
            async with self.hub.broker.subscribe(**self._filters) as subscription:
                self._subscription = subscription
                self._ready.set()
                context = Context(
                    runtime=self._runtime,
                    principal=self._principal,
                    request_id=f"events-{uuid.uuid4().hex}",
                    live_feed=self,
                )
                stream = await self._schema.stream(
                    self._slot.query,
                    variable_values=self._slot.variables,
                    context_value=context,
                    operation_name=self._slot.operation_name,
                )
                async with aclosing(stream):
                    async for result in stream:
                        if not self._deliver(result):
                            ending = _GroupFailed()
                            break
            if self.fell_behind:
                ending = SubscriberDropped()
        except asyncio.CancelledError:
            ending = None
        except Exception as exc:
            log.exception("a shared events subscription failed")
            ending = exc if isinstance(exc, StoreUnavailable) and not self._ready.is_set() else _GroupFailed()
        finally:
            self.close()
            if not self._ready.is_set():
                self._error = ending or StoreUnavailable("the event broker is closed")
                self._ready.set()
            for member in list(self.members):
                if isinstance(ending, SubscriberDropped):
                    member.drop()
                else:
                    member._end(ending)

    def _deliver(self, result: object) -> bool:
        """Send one result to every member; False if it answers no event (the execution itself failed)."""
        event, self.current = self.current, None
        if event is None or not isinstance(result, ExecutionResult):
            log.error("shared events execution ended without an event: %r", getattr(result, "errors", result))
            return False
        self.executions += 1
        self.hub.executions += 1
        # The payload of Strawberry's own ``next`` message (Operation.send_next), encoded once for all members.
        payload: dict[str, object] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        text = self._slot.writer.encode(payload)
        cursor = event.cursor
        members = tuple(self.members)
        for member in members:
            member.offer(cursor, text)
        self.hub.frames += len(members)
        return True


class LiveHub:
    """The live groups over one broker, one hub per runtime (``LiveHub(broker)`` once the broker is open):
    :meth:`join` is the ``events`` resolver's way in.

    ``executions`` counts shared executions (one per event per group), ``frames`` the frames they produced: their
    ratio is the sharing. Tests read them.
    """

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.groups: dict[GroupKey, LiveGroup] = {}
        self.executions = 0
        self.frames = 0
        self.dropped_total = 0

    @property
    def member_count(self) -> int:
        return sum(len(group.members) for group in self.groups.values())

    @asynccontextmanager
    async def join(
        self,
        info: Info,
        slot: OperationSlot,
        *,
        source: str | None,
        provider: str | None,
        types: Sequence[str] | None,
    ) -> AsyncIterator[Member]:
        """Membership of the group for ``info``'s subscription for the block; it receives every matching event the
        broker reads from now on (buffered until :meth:`Member.run`)."""
        key = group_key(info, slot)
        group = self.groups.get(key)
        if group is None or group.closing:
            filters = {"source": source, "provider": provider, "types": None if types is None else list(types)}
            group = LiveGroup(self, key, info=info, slot=slot, filters=filters)
            self.groups[key] = group
            group.start()
        member = Member(group, slot, self.broker.queue_size)
        group.members[member] = None
        try:
            await group.wait_ready()
            yield member
        finally:
            group.leave(member)


def group_key(info: Info, slot: OperationSlot) -> GroupKey:
    """What makes two live subscriptions' results equal: document, operation name, variables and principal.

    A variable used only as the ``after`` argument is left out: it chooses where the replay starts, and the replay is
    not shared. Anything less clear-cut (a fragment, a variable used twice) keeps every variable in the key.
    """
    variables = dict(slot.variables or {})
    replay_only = _replay_only_variable(info)
    if replay_only is not None:
        variables.pop(replay_only, None)
    frozen = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS, default=str)
    return (slot.query, slot.operation_name, frozen, info.context.principal)


class _VariableUses(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[str, int] = {}
        self.after: str | None = None
        self.spreads = False

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.uses[node.name.value] = self.uses.get(node.name.value, 0) + 1

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        if node.name.value == "after" and isinstance(node.value, VariableNode):
            self.after = node.value.name.value

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.spreads = True


def _replay_only_variable(info: Info) -> str | None:
    uses = _VariableUses()
    visit(info.operation.selection_set, uses)  # not the definitions: ``$after: String`` is no use
    if uses.after is None or uses.spreads or uses.uses.get(uses.after) != 1:
        return None
    return uses.after


__all__ = ["LiveGroup", "LiveHub", "Member", "group_key"]
