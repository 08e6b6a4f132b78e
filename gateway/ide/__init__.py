"""GraphiQL served by the gateway itself, so that it works where the browser cannot reach a CDN.

The page (``graphiql.html`` beside this file) is rendered at ``GET /graphql`` for browsers; its scripts and styles are
GraphiQL's, the explorer plugin's and React's UMD bundles from npm, committed under ``static/`` and served at
:data:`STATIC_PREFIX`. ``fetch_assets.sh`` re-fetches them for an upgrade; nothing is fetched at run time.

The page is static: it holds no data and no secret, so browsers may load it without an API key (a navigation cannot
send an ``Authorization`` header). With keys configured the headers editor starts with a placeholder for one; the
page sends it with every HTTP request and, for subscriptions, in ``connection_init``'s payload.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs

import orjson
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
#: Outside ``/graphql`` on purpose: the API-key check guards ``/graphql*``, and a browser fetches these without one.
STATIC_PREFIX = "/ide/static"
GRAPHQL_PATH = "/graphql"

#: The default tab: one operation of each kind over the unified schema (source names are the sandbox's).
EXAMPLE_OPERATIONS = """\
# Welcome to Hookgate: one GraphQL API over UiPath,
# WorkflowGen, DRUID, Dixa and Auco.
#
# This tab holds three operations: press the run button
# (or Ctrl-Enter) and pick one. Docs and Explorer, on the
# left, show the whole schema. Source names below are the
# sandbox's ("workflowgen"): use your configured names.

# Every source's webhooks in one answer. Event types come
# from each provider's catalogue; Dixa adds its delivery
# statuses. A failing source is reported in "errors" and
# nulls only its own part: the others still answer.
query Dashboard {
  sources {
    name
    provider
    circuit
    capabilities
  }
  webhooks(first: 50) {
    totalCount
    nodes {
      id
      source
      provider
      name
      url
      enabled
      events
      eventTypes {
        name
        group
      }
      deliveryStatuses {
        event
        lastDelivery {
          deliveredAt
          success
          responseCode
        }
      }
    }
  }
}

# Start a WorkflowGen request. The gateway never retries a
# mutation: send an "Idempotency-Key" header (Headers tab,
# below) to make a retry of yours safe. The parameters are
# a variable (with a default) so that the Explorer, on the
# left, can show this mutation: it edits no list literals.
mutation CreateExpenseClaim(
  $parameters: [ParameterInput!] = [
    { name: "AMOUNT", numericValue: 42.5 }
    { name: "REASON", textValue: "Team lunch" }
  ]
) {
  createRequest(
    input: {
      source: "workflowgen"
      processName: "EXPENSE_CLAIM"
      parameters: $parameters
    }
  ) {
    request {
      id
      number
      processName
      status
      actions {
        name
        status
        assignee {
          userName
        }
      }
    }
  }
}

# Events the providers deliver to POST /hooks/{source},
# live over the graphql-transport-ws WebSocket at /graphql.
# Results stream in until you press stop.
subscription LiveEvents {
  events {
    id
    source
    provider
    type
    receivedAt
    payload
  }
}
"""

#: Shown in the headers editor when the gateway needs an API key.
KEY_PLACEHOLDER = '{\n  "Authorization": "Bearer <your API key>"\n}'


def static_files() -> StaticFiles:
    """The committed GraphiQL bundles, for ``Mount(STATIC_PREFIX, ...)``."""
    return StaticFiles(directory=STATIC_DIR)


def is_page_request(scope: Scope, headers: Mapping[str, str]) -> bool:
    """Would Strawberry answer this request with the IDE page? (A browser's GET of ``/graphql`` without a query.)

    The same test as Strawberry's ``should_render_graphql_ide``, on the raw ASGI scope, for the middleware that must
    let the page through without an API key.
    """
    if scope.get("method") != "GET" or scope.get("path") != GRAPHQL_PATH:
        return False
    if "query" in parse_qs(scope.get("query_string", b"").decode("latin-1")):
        return False
    accept = headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept


@functools.cache
def _template() -> str:
    return (HERE / "graphiql.html").read_text(encoding="utf-8")


def render_page(*, graphql_path: str = GRAPHQL_PATH, key_required: bool = False) -> HTMLResponse:
    """The GraphiQL page, with its configuration inlined as JSON and a nonce for its one inline script."""
    config = {
        "graphqlPath": graphql_path,
        "defaultQuery": EXAMPLE_OPERATIONS,
        "defaultHeaders": KEY_PLACEHOLDER if key_required else "",
    }
    # "<" escaped so that no value can close the <script> element the JSON sits in.
    config_json = orjson.dumps(config).decode().replace("<", "\\u003c")
    nonce = secrets.token_urlsafe(16)
    html = (
        _template().replace("{{static}}", STATIC_PREFIX).replace("{{nonce}}", nonce).replace("{{config}}", config_json)
    )
    # Everything the page loads comes from this origin; the CSP makes a stray CDN reference fail loudly in tests.
    # GraphiQL sets inline styles (React style attributes), hence 'unsafe-inline' for styles only.
    csp = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(html, headers={"content-security-policy": csp, "cache-control": "no-store"})
