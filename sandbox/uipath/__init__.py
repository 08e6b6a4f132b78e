"""Simulator of UiPath Orchestrator's webhook API (OData v4), mounted under ``/uipath``.

What it serves (providers.md §1):

- ``POST /identity_/connect/token``: OAuth2 client credentials (form body ``grant_type=client_credentials``,
  ``client_id=sandbox-client``, ``client_secret=sandbox-client-secret``, ``scope``); the token it issues expires by
  the sandbox clock.
- ``GET /odata/Webhooks`` with ``$filter`` (``eq ne gt ge lt le``, ``and or not``, parentheses, ``contains``,
  ``startswith``, ``endswith``; properties ``Id``, ``Url``, ``Enabled``, ``Secret``, ``SubscribeToAllEvents``,
  ``AllowInsecureSsl``), ``$top``, ``$skip``, ``$count``, ``$orderby``, ``$select``; server-side paging with
  ``@odata.nextLink``.
- ``POST /odata/Webhooks`` (201), ``GET|PUT|PATCH|DELETE /odata/Webhooks({Id})``,
  ``GET /odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()`` and
  ``POST /odata/Webhooks({Id})/UiPath.Server.Configuration.OData.Ping``.

Every call but the token one needs ``Authorization: Bearer sandbox-uipath-token`` or a token the token endpoint issued.

Options (``POST /_control/options``):

- ``uipath.page_size`` (int, default 100): the server page size; more matches than this get an ``@odata.nextLink``.
- ``uipath.token_ttl_s`` (int, default 3600): lifetime of issued tokens, also answered as ``expires_in``.

Seed: webhooks 4 and 10 from the examples of UiPath's "Webhooks requests" API guide page, and the 21 event types.

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
