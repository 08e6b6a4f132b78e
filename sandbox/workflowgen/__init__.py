"""Simulator of WorkflowGen: the incoming webhook application (operations) and the GraphQL API (reads).

Wire formats: providers.md §2. Routes, relative to the ``/workflowgen`` mount:

- ``POST /wfgen/hooks/{token}``: the incoming webhook application. The token ``sandbox-wfgen-token`` is its only
  credential; operations run as the application's impersonate username (``wfgen_admin``), or as the user named by
  ``onBehalfOf`` / ``onBehalfOfUserName`` where the operation allows delegation.
  Body ``{"operation": "createRequest", "args": {"input": {...}}}``.
- ``POST /wfgen/graphql``: a small read-only GraphQL API (graphql-core), Basic auth ``wfgen_admin`` / ``sandbox``,
  optional header ``x-wfgen-impersonate-username``. A request or action it does not have, or that the viewer may not
  see, is that field's own error (NOT_FOUND, FORBIDDEN) beside the other fields' data [stand-in].

Seed (restored by ``POST /_control/reset``): process ``EXPENSE_CLAIM`` version 1 (id 1) with data AMOUNT (NUMERIC),
REASON (TEXT), DUE (DATETIME), RECEIPT (FILE) and one action ``APPROVAL``; users ``wfgen_admin`` (id 1,
administrator) and ``jdoe`` (id 2, ordinary user); request 1 of EXPENSE_CLAIM, open, requested by jdoe, with its
open action 1 ``APPROVAL`` assigned to wfgen_admin and all four data filled in. Process ``PURCHASE_REQUEST`` version 1
(id 2) with data FORM_DATA (FILE), REQUEST_AMOUNT (NUMERIC), REQUEST_REASON (TEXT), REQUEST_DATE (DATETIME), whose one
action ``FILL_FORM`` is a web form (EFORMASPX): completing it needs ``FORM_DATA`` (``forms``).

Option (``POST /_control/options``): ``workflowgen.impersonate_username`` replaces the hook application's impersonate
username (default ``wfgen_admin``), to test rights errors without delegation.

Modules: ``model`` (records, errors, global ids), ``state`` (:class:`WorkflowGenState`, the only writer of the state,
telling listeners of every change), ``hooks`` (the incoming webhook application), ``forms`` (web-form actions: the
FORM_DATA dataset), ``graphql`` (the GraphQL API), ``app`` (the routes).
"""

from __future__ import annotations

from sandbox.workflowgen.app import create_app
from sandbox.workflowgen.graphql import SCHEMA, QueryRoot
from sandbox.workflowgen.hooks import OPERATIONS
from sandbox.workflowgen.model import (
    GRAPHQL_PASSWORD,
    GRAPHQL_USERNAME,
    HOOK_TOKEN,
    IMPERSONATE_HEADER,
    IMPERSONATE_OPTION,
    WfgError,
    error_body,
)
from sandbox.workflowgen.state import WorkflowGenState

__all__ = [
    "GRAPHQL_PASSWORD",
    "GRAPHQL_USERNAME",
    "HOOK_TOKEN",
    "IMPERSONATE_HEADER",
    "IMPERSONATE_OPTION",
    "OPERATIONS",
    "SCHEMA",
    "QueryRoot",
    "WfgError",
    "WorkflowGenState",
    "create_app",
    "error_body",
]
