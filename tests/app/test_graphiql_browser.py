"""GraphiQL in a real headless Chromium, against the real gateway over the sandbox, with no network beyond it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.gateway import Gateway

EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


def _editor_text(page: Any, selector: str) -> str:
    # CodeMirror 5 renders only the visible lines; its instance (on the wrapper element) holds the whole text.
    return str(page.evaluate("(s) => document.querySelector(s).CodeMirror.getValue()", selector))


def test_graphiql_renders_runs_the_dashboard_and_shows_the_result(
    gateway: Gateway, chromium: Any, artifacts: Path
) -> None:
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    origin = urlsplit(gateway.url).netloc
    foreign: list[str] = []
    problems: list[str] = []
    frames: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if urlsplit(r.url).netloc != origin else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # Any console error fails the test, wherever it comes from (GraphiQL, the Explorer, React).
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "assert") else None
    )
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    try:
        page.goto(gateway.graphql_url)
        page.wait_for_selector(EDITOR, timeout=30_000)
        assert "query Dashboard" in _editor_text(page, EDITOR)
        assert "mutation CreateExpenseClaim" in _editor_text(page, EDITOR)
        assert "subscription LiveEvents" in _editor_text(page, EDITOR)

        # Three operations in the tab: the run button asks which one.
        page.click(".graphiql-execute-button")
        page.get_by_role("menuitem", name="Dashboard").click()
        page.wait_for_function(
            "(s) => (document.querySelector(s)?.CodeMirror?.getValue() ?? '').includes('totalCount')",
            arg=RESPONSE,
            timeout=30_000,
        )
        result = json.loads(_editor_text(page, RESPONSE))
        page.screenshot(path=str(artifacts / "graphiql-dashboard.png"))

        assert "errors" not in result, result.get("errors")
        webhooks = result["data"]["webhooks"]["nodes"]
        assert {w["source"] for w in webhooks} >= {"uipath", "dixa", "auco"}
        dixa = next(w for w in webhooks if w["source"] == "dixa")
        assert dixa["deliveryStatuses"], "Dixa's delivery statuses are in the dashboard"
        assert any(w["eventTypes"] for w in webhooks)

        # The subscription uses the WebSocket at /graphql (graphql-transport-ws), which the page's CSP allows.
        page.click(".graphiql-execute-button")
        page.get_by_role("menuitem", name="LiveEvents").click()
        for _ in range(100):
            if any("connection_ack" in frame for frame in frames):
                break
            page.wait_for_timeout(100)
        assert any("connection_ack" in frame for frame in frames), frames

        # The Explorer reads the default tab's three operations (it logged "arg mismatch" for a list literal).
        page.click("button[aria-label='Show GraphiQL Explorer']")
        page.wait_for_selector(".graphiql-explorer-root .graphiql-explorer-field-view", timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "graphiql-explorer.png"))
    finally:
        context.close()
    assert foreign == [], f"GraphiQL fetched from elsewhere than the gateway: {foreign}"
    assert problems == []
