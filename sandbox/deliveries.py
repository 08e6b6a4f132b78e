"""Outbound deliveries: the sandbox POSTs signed events to the webhooks registered with it, as each provider would.

When state changes, the matching webhooks get a delivery, sent in a background task (httpx, short timeout; the
outcome is recorded, a failure never reaches the request that caused it):

- **UiPath** [doc]: pinging a webhook (``POST /odata/Webhooks({Id})/...Ping``) delivers the PingEventDto to that
  webhook; ``POST /_control/emit {"target": "uipath", "event": "job.completed", "data": {...}}`` delivers
  ``{"Type", "EventId", "Timestamp", "TenantId", "OrganizationUnitId", "UserId", ...data}`` to every enabled webhook
  that subscribes to the event (or to all events). Signed ``X-UiPath-Signature: base64(HMAC-SHA256(utf8(Secret),
  body))`` with each webhook's own Secret; a webhook without a Secret gets no signature header.
- **Dixa** [doc]: ``/_control/emit {"target": "dixa", "event": "ConversationCreated", "data": {...}}`` delivers the
  documented envelope to every enabled subscription of that event, with its ``headers`` (authorization, custom) and
  ``X-DIXA-SIGNATURE: t=<ms>,v1=hex(HMAC-SHA256(secretKey, "<t>." + body))``, each subscription's own secretKey
  used as its UTF-8 bytes. The outcome is recorded
  in the subscription's delivery status and delivery log, which the Dixa API then answers.
- **Auco** [doc]: ``/_control/emit {"target": "auco", "event": "document.FINISH" | "package.SIGNED_PACKAGE", ...}``
  delivers a document or package notification (``status`` from the event name, other fields from ``data``) to every
  company webhook with a URL, carrying only the webhook's ``header`` (Auco signs nothing).
- **WorkflowGen** [stand-in]: WorkflowGen documents no outbound webhook. When the option
  ``workflowgen.notify_url`` is set (``POST /_control/options``), every change of its state (``request.created``,
  ``action.closed``...) is delivered there as a Standard Webhooks message ``{"type", "timestamp", "data"}`` signed
  with :data:`WORKFLOWGEN_SECRET`, which the sandbox configuration of the gateway verifies.

Only loopback URLs are delivered to, so that the seed webhooks (documentation.azurewebsites.net, example.com...) are
never called from a test machine; other hosts are recorded as ``skipped``. Allow more hosts with the environment
variable ``HOOKGATE_SANDBOX_DELIVERY_HOSTS`` (comma-separated names, or ``*``) or the option
``deliveries.allow_hosts`` (a list), e.g. for gateway containers under docker-compose.

``GET /_control/deliveries`` lists the recent outcomes (``pending``, ``delivered``, ``failed``, ``skipped``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.control import Control
from sandbox.dixa import EVENT_SET, ORGANIZATION, event_fqn
from sandbox.kit import iso_millis
from sandbox.uipath import EVENT_NAMES, TENANT_ID, USER_ID, iso7

log = logging.getLogger("sandbox.deliveries")

#: The Standard Webhooks secret WorkflowGen deliveries are signed with (base64 of "sandbox-workflowgen-secret").
WORKFLOWGEN_SECRET: Final = "whsec_c2FuZGJveC13b3JrZmxvd2dlbi1zZWNyZXQ="
NOTIFY_OPTION: Final = "workflowgen.notify_url"
HOSTS_OPTION: Final = "deliveries.allow_hosts"
HOSTS_ENV: Final = "HOOKGATE_SANDBOX_DELIVERY_HOSTS"
TIMEOUT_S: Final = 5.0
MAX_RECORDS: Final = 1000
MAX_LOG_ENTRIES: Final = 50  # per Dixa subscription and event

LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
EMIT_TARGETS: Final = ("uipath", "dixa", "auco")

# Auco's notification statuses [doc]: the event names are "<group>.<STATUS>".
AUCO_STATUSES: Final[dict[str, tuple[str, ...]]] = {
    "document": ("CREATE", "FINISH", "NOTIFICATION", "REJECT", "REJECTED", "BLOCKED", "EXPIRED"),
    "package": ("CREATE", "NOTIFICATION", "SIGNED_PACKAGE", "DOCUMENT_REJECT", "REJECTED", "BLOCKED"),
}


class EmitError(ValueError):
    """A ``/_control/emit`` request the sandbox cannot act on (400)."""


@dataclass
class DeliveryRecord:
    """One delivery attempt, as ``GET /_control/deliveries`` shows it (no header values: they hold secrets)."""

    id: str
    target: str
    event: str
    url: str
    state: str = "pending"  # pending, delivered (2xx), failed (other status or no answer), skipped (host not allowed)
    status: int | None = None
    error: str | None = None
    at: float = field(default_factory=time.time)


# ---------------------------------------------------------------------------------------------------- signatures


def sign_uipath(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def sign_dixa(secret_key_hex: str, body: bytes, timestamp_ms: int) -> str:
    mac = hmac.new(bytes.fromhex(secret_key_hex), f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_ms},v1={mac}"


def sign_dixa_subscription(secret_key: str, body: bytes, timestamp_ms: int) -> str:
    """A delivery's signature under a subscription's own ``secretKey``, used as its UTF-8 bytes."""
    mac = hmac.new(secret_key.encode(), f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_ms},v1={mac}"


def sign_standard(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    mac = hmac.new(key, f"{msg_id}.{timestamp_s}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


# ------------------------------------------------------------------------------------------------------ deliverer


class Deliveries:
    """Sends the deliveries of one sandbox. :meth:`attach` wires it to each simulator's state."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.records: deque[DeliveryRecord] = deque(maxlen=MAX_RECORDS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._uipath: Any = None
        self._dixa: Any = None
        self._auco: Any = None
        env = os.environ.get(HOSTS_ENV, "")
        self._env_hosts = frozenset(h.strip().lower() for h in env.split(",") if h.strip())

    def attach(self, target: str, app_state: Any) -> None:
        """Hook into a simulator's state (``app.state`` of its Starlette app)."""
        if target == "uipath":
            self._uipath = app_state.uipath
            self._uipath.subscribe(self._on_uipath)
        elif target == "dixa":
            self._dixa = app_state.dixa
        elif target == "auco":
            self._auco = app_state.auco
        elif target == "workflowgen":
            app_state.workflowgen.subscribe(self._on_workflowgen)

    def reset(self) -> None:
        self.records.clear()

    def routes(self) -> list[Route]:
        return [
            Route("/_control/emit", self._emit_endpoint, methods=["POST"]),
            Route("/_control/deliveries", self._list_endpoint, methods=["GET"]),
        ]

    async def drain(self, timeout_s: float = TIMEOUT_S + 1) -> None:
        """Wait for the deliveries in flight (tests and shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    # -- sending

    def _allowed(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False
        extra = self.control.options.get(HOSTS_OPTION) or []
        allowed = LOOPBACK | self._env_hosts | {str(h).lower() for h in extra if isinstance(extra, list)}
        return "*" in allowed or host in allowed or host.startswith("127.")

    def send(
        self,
        target: str,
        event: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        on_done: Callable[[DeliveryRecord], None] | None = None,
    ) -> DeliveryRecord:
        """Deliver ``body`` to ``url`` in the background; the record is updated when the answer (or none) comes."""
        record = DeliveryRecord(id=uuid.uuid4().hex, target=target, event=event, url=url)
        self.records.append(record)
        if not self._allowed(url):
            record.state, record.error = "skipped", f"not delivering to a non-local host (see {HOSTS_ENV})"
            return record
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a state change outside the server (a unit test): nothing to send from
            record.state, record.error = "skipped", "no running event loop"
            return record
        task = loop.create_task(self._post(record, body, {"content-type": "application/json", **headers}, on_done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return record

    async def _post(
        self,
        record: DeliveryRecord,
        body: bytes,
        headers: dict[str, str],
        on_done: Callable[[DeliveryRecord], None] | None,
    ) -> None:
        try:
            # trust_env=False: a proxy from the environment must not intercept deliveries to loopback.
            async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client:
                response = await client.post(record.url, content=body, headers=headers)
            record.status = response.status_code
            record.state = "delivered" if response.is_success else "failed"
        except Exception as exc:  # any failure is the receiver's problem, recorded, never the sandbox's crash
            record.state, record.error = "failed", type(exc).__name__
        if on_done is not None:
            try:
                on_done(record)
            except Exception:
                log.exception("recording a delivery outcome failed")

    # -- UiPath

    def _on_uipath(self, event: str, data: dict[str, Any]) -> None:
        if event == "webhook.pinged":
            self._deliver_uipath(data["webhook"], "ping", data["event"])

    def _deliver_uipath(self, hook: Any, event: str, body_object: dict[str, Any]) -> DeliveryRecord:
        body = orjson.dumps(body_object)
        headers = {} if not hook.secret else {"X-UiPath-Signature": sign_uipath(hook.secret, body)}
        return self.send("uipath", event, hook.url, body, headers)

    def _emit_uipath(self, event: str, data: dict[str, Any]) -> list[DeliveryRecord]:
        if event not in EVENT_NAMES:
            raise EmitError(f"unknown UiPath event type {event!r}")
        records = []
        for hook in self._uipath.registered():
            if hook.enabled and (hook.subscribe_to_all_events or event in hook.events):
                body = {
                    "Type": event,
                    "EventId": uuid.uuid4().hex,
                    "Timestamp": iso7(self.control.clock.now()),
                    "TenantId": TENANT_ID,
                    "OrganizationUnitId": None,
                    "UserId": USER_ID,
                    **data,
                }
                records.append(self._deliver_uipath(hook, event, body))
        return records

    # -- Dixa

    def _emit_dixa(self, event: str, data: dict[str, Any]) -> list[DeliveryRecord]:
        if event not in EVENT_SET:
            by_fqn = {event_fqn(name): name for name in EVENT_SET}
            if event not in by_fqn:
                raise EmitError(f"unknown Dixa event {event!r}")
            event = by_fqn[event]
        records = []
        now = self.control.clock.now()
        for subscription in list(self._dixa.subscriptions.values()):
            if not subscription.enabled or event not in subscription.events:
                continue
            body = orjson.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "event_fqn": event_fqn(event),
                    "event_version": "1",
                    "event_timestamp": iso_millis(now),
                    "organization": ORGANIZATION,
                    "data": data,
                }
            )
            headers = {
                **subscription.headers(),
                "X-DIXA-SIGNATURE": sign_dixa_subscription(subscription.secret_key, body, int(now * 1000)),
                "X-DIXA-SUBSCRIPTION-ID": subscription.id,  # [doc] "Headers and authentication"
            }
            records.append(
                self.send("dixa", event, subscription.url, body, headers, self._dixa_recorder(subscription.id, body))
            )
        return records

    def _dixa_recorder(self, subscription_id: str, body: bytes) -> Callable[[DeliveryRecord], None]:
        """Keep the outcome where Dixa's delivery-status and delivery-log endpoints read it."""

        def record(outcome: DeliveryRecord) -> None:
            detail = {
                "_type": "DeliveryDetail",
                "deliveryTimestamp": iso_millis(self.control.clock.now()),
                "success": outcome.state == "delivered",
                "responseCode": outcome.status if outcome.status is not None else 0,
                "responseText": outcome.error or ("OK" if outcome.state == "delivered" else "Failed"),
            }
            if subscription_id not in self._dixa.subscriptions:
                return  # deleted while the delivery was in flight
            self._dixa.statuses.setdefault(subscription_id, {})[outcome.event] = detail
            entries = self._dixa.logs.setdefault(subscription_id, {}).setdefault(outcome.event, [])
            entries.insert(0, {"deliveryDetail": detail, "payload": body.decode()})  # newest first [doc]
            del entries[MAX_LOG_ENTRIES:]

        return record

    # -- Auco

    def _emit_auco(self, event: str, data: dict[str, Any]) -> list[DeliveryRecord]:
        group, _, status = event.partition(".")
        if status not in AUCO_STATUSES.get(group, ()):
            names = ", ".join(f"{g}.{s}" for g, statuses in AUCO_STATUSES.items() for s in statuses)
            raise EmitError(f"unknown Auco event {event!r}; one of: {names}")
        if group == "document":
            base: dict[str, Any] = {
                "code": f"SBX{uuid.uuid4().hex[:8].upper()}",
                "name": "Sandbox document",
                "status": status,
                "url": None,
                "signer": None,
                "message": None,
                "tags": [],
                "custom": {},
            }
        else:
            base = {
                "package": f"PKG{uuid.uuid4().hex[:8].upper()}",
                "name": "Sandbox package",
                "status": status,
                "signer": None,
                "message": None,
                "tags": [],
                "documents": [],
            }
        body = orjson.dumps({**base, **data, "status": status})
        records = []
        for hook in self._auco.company.get("webhooks", []):
            if not hook.get("url"):
                continue
            header = hook.get("header") or {}
            headers = {header["key"]: header["value"]} if header.get("key") else {}
            records.append(self.send("auco", event, hook["url"], body, headers))
        return records

    # -- WorkflowGen [stand-in]

    def _on_workflowgen(self, event: str, data: dict[str, Any]) -> None:
        url = self.control.options.get(NOTIFY_OPTION)
        if not isinstance(url, str) or not url:
            return
        now = self.control.clock.now()
        body = orjson.dumps({"type": event, "timestamp": iso_millis(now), "data": data})
        msg_id = f"msg_{uuid.uuid4().hex}"
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": sign_standard(WORKFLOWGEN_SECRET, msg_id, int(now), body),
        }
        self.send("workflowgen", event, url, body, headers)

    # -- control endpoints

    def emit(self, target: str, event: str, data: dict[str, Any]) -> list[DeliveryRecord]:
        """Deliver ``event`` with ``data`` from ``target`` to its matching webhooks; EmitError for a bad request."""
        if target == "uipath":
            return self._emit_uipath(event, data)
        if target == "dixa":
            return self._emit_dixa(event, data)
        if target == "auco":
            return self._emit_auco(event, data)
        raise EmitError(f"target must be one of {', '.join(EMIT_TARGETS)}")

    async def _emit_endpoint(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"message": "body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"message": 'body must be {"target", "event", "data"}'}, status_code=400)
        target, event, data = body.get("target"), body.get("event"), body.get("data", {})
        if not isinstance(event, str) or not isinstance(data, dict):
            return JSONResponse({"message": "event must be a string and data an object"}, status_code=400)
        try:
            records = self.emit(str(target), event, data)
        except EmitError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse(
            {"target": target, "event": event, "deliveries": [asdict(r) for r in records]}, status_code=202
        )

    async def _list_endpoint(self, request: Request) -> Response:
        return JSONResponse({"deliveries": [asdict(r) for r in self.records]})
