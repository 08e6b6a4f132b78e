"""Structured logs: JSON lines, the request id a response returned in every line of its request, no secret."""

from __future__ import annotations

import logging
import uuid

import structlog

from gateway.observability.logs import configure_logging
from gateway.observability.redaction import install_redaction, redact
from tests.support.gateway import Gateway
from tests.support.observing import LogCapture
from tests.support.sandbox import Sandbox


def test_json_lines_carry_the_request_id_the_response_returned(json_logs: LogCapture, gateway: Gateway) -> None:
    response = gateway.post("query LogProbe { sources { name } }")
    request_id = response.headers["x-request-id"]
    assert request_id

    [line] = json_logs.request_lines(request_id)
    assert line["logger"] == "hookgate.access"
    assert line["level"] == "info"
    assert line["event"] == "request"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert (line["operation_type"], line["operation_name"], line["outcome"]) == ("query", "LogProbe", "ok")
    assert line["duration_ms"] >= 0
    assert "timestamp" in line


def test_a_callers_request_id_is_kept_and_logged(json_logs: LogCapture, gateway: Gateway) -> None:
    mine = f"trace-{uuid.uuid4().hex[:12]}"
    response = gateway.post("{ sources { name } }", headers={"x-request-id": mine})
    assert response.headers["x-request-id"] == mine
    assert json_logs.request_lines(mine)


def test_lines_logged_inside_a_request_carry_its_id(json_logs: LogCapture, gateway: Gateway, sandbox: Sandbox) -> None:
    """stamina logs each scheduled retry of a read through structlog, from deep inside the request."""
    sandbox.fault("uipath", status=503)
    response = gateway.post('{ webhooks(source: "uipath") { nodes { id } } }')
    request_id = response.headers["x-request-id"]
    lines = json_logs.request_lines(request_id)
    retries = [line for line in lines if line["event"] == "stamina.retry_scheduled"]
    assert retries, [line["event"] for line in lines]
    assert all(line["level"] == "warning" for line in retries)


def test_redact_hides_a_workflowgen_hook_token() -> None:
    token = f"hook-{uuid.uuid4().hex}"
    text = redact(f"POST https://wf.example.com/wfgen/hooks/{token}?x=1 failed")
    assert token not in text
    assert "https://wf.example.com/wfgen/hooks/" in text
    assert "failed" in text


def test_redact_hides_authorization_values() -> None:
    secret = uuid.uuid4().hex
    for text in (f"Authorization: Bearer {secret}", f"{{'authorization': 'Basic {secret}'}}"):
        assert secret not in redact(text)


def test_no_log_line_shows_a_hook_token(json_logs: LogCapture) -> None:
    """Whatever logs it, the standard library or structlog, in a message, a key or a traceback."""
    token = f"hook-{uuid.uuid4().hex}"
    url = f"https://wf.example.com/wfgen/hooks/{token}"
    logging.getLogger("httpx").warning('HTTP Request: POST %s "HTTP/1.1 500"', url)
    structlog.stdlib.get_logger("hookgate.test").warning("upstream call", url=url, headers={"Authorization": token})
    try:
        raise RuntimeError(f"cannot reach {url}")
    except RuntimeError:
        logging.getLogger("hookgate.test").exception("failed")
    assert len(json_logs.lines()) == 3
    assert "/wfgen/hooks/" in json_logs.text
    assert token not in json_logs.text


def test_a_structlog_line_the_record_factory_rewrites_still_renders(json_logs: LogCapture) -> None:
    """The redacting record factory rewrites a record holding a configured secret anywhere, even in a structlog
    dict's key."""
    secret = f"configured-{uuid.uuid4().hex}"
    install_redaction([secret])
    structlog.stdlib.get_logger("hookgate.test").warning("odd line", **{secret: 1})
    [line] = json_logs.lines()
    assert secret not in json_logs.text
    assert "odd line" in line["event"]
    assert line["level"] == "warning"


def test_websocket_frame_dumps_are_never_written(json_logs: LogCapture) -> None:
    """A subscription's connection_init carries the API key; websockets' DEBUG frame lines would show part of it."""
    configure_logging(json=True, level="DEBUG", stream=json_logs.stream)
    frame = '{"type": "connection_init", "payload": {"author...'
    logging.getLogger("websockets.server").debug("< TEXT '%s' [91 bytes]", frame)
    logging.getLogger("httpx").debug("shown at debug")
    assert "connection_init" not in json_logs.text
    assert "shown at debug" in json_logs.text
