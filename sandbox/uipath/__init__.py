"""Simulator of UiPath Orchestrator's webhook API (OData v4), mounted under ``/uipath``.

What it serves (providers.md §1):

- ``POST /identity_/connect/token``: OAuth2 client credentials (form body ``grant_type=client_credentials``,
  ``client_id=sandbox-client``, ``client_secret=sandbox-client-secret``, ``scope``); the token it issues expires by
  the sandbox clock.
- ``GET /odata/Webhooks`` with ``$filter`` (``eq ne gt ge lt le``, ``and or not``, parentheses, ``contains``,
  ``startswith``, ``endswith``; properties ``Key``, ``Name``, ``Description``, ``Id``, ``Url``, ``Enabled``,
  ``Secret``, ``SubscribeToAllEvents``, ``AllowInsecureSsl``), ``$top``, ``$skip``, ``$count`` (a Boolean in any
  case), ``$orderby``, ``$select``, an empty ``$expand``; server-side paging with ``@odata.nextLink``.
- ``POST /odata/Webhooks`` (201; ``Name`` and ``Url`` required), ``GET|PUT|PATCH|DELETE /odata/Webhooks({Id})``,
  ``GET /odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes`` (with or without ``()``),
  ``POST /odata/Webhooks({Id})/UiPath.Server.Configuration.OData.Ping`` and
  ``POST /odata/Webhooks/UiPath.Server.Configuration.OData.TriggerCustom`` (202, a CustomEventDto).

WebhookDto is current Orchestrator's (its published OpenAPI description): ``Key, Name, Description, Url, Enabled,
Secret, SubscribeToAllEvents, AllowInsecureSsl, Events, Id``.

Every call but the token one needs ``Authorization: Bearer sandbox-uipath-token`` or a token the token endpoint issued.

Options (``POST /_control/options``):

- ``uipath.page_size`` (int, default 100): the server page size; more matches than this get an ``@odata.nextLink``.
- ``uipath.token_ttl_s`` (int, default 3600): lifetime of issued tokens, also answered as ``expires_in``.
- ``uipath.refuse_patch`` (``false``, ``405`` or ``404``; default false): a tenant that does not route PATCH,
  answering 405, or 404 as for a path no route matches.

Seed: webhooks 4 and 10 from the examples of UiPath's "Webhooks requests" API guide page (with names of our
choosing, which current Orchestrator requires), and the 21 event types.

Modules: ``model`` (the tenant's state, event types, error bodies), ``odata`` (the query options and the ``$filter``
parser), ``app`` (the HTTP routes).
"""

from __future__ import annotations

from sandbox.uipath.app import UiPathSimulator, create_app
from sandbox.uipath.model import (
    CLIENT_ID,
    CLIENT_SECRET,
    EVENT_NAMES,
    EVENT_TYPES,
    STATIC_TOKEN,
    TENANT_ID,
    USER_ID,
    ODataError,
    UiPathState,
    Webhook,
    error_body,
    iso7,
)
from sandbox.uipath.odata import parse_filter

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "EVENT_NAMES",
    "EVENT_TYPES",
    "STATIC_TOKEN",
    "TENANT_ID",
    "USER_ID",
    "ODataError",
    "UiPathSimulator",
    "UiPathState",
    "Webhook",
    "create_app",
    "error_body",
    "iso7",
    "parse_filter",
]
