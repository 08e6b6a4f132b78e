"""``gateway.observability.redaction``: what :func:`redact` blanks out, and how the filter rewrites a log record."""

from __future__ import annotations

import logging

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.observability.redaction import (
    _PATTERNS,
    MASK,
    RedactingFilter,
    _credentials,
    install_redaction,
    redact,
    secret_values,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("POST https://wf.example.com/wfgen/hooks/aBc123-token/x", f"POST https://wf.example.com/wfgen/hooks/{MASK}/x"),
        ("POST https://wf.example.com/wfgen/hooks/-", "POST https://wf.example.com/wfgen/hooks/-"),
        ("Authorization: Bearer eyJhbGciOi.x.y", f"Authorization: Bearer {MASK}"),
        ("authorization=Basic dXNlcjpwYXNz", f"authorization=Basic {MASK}"),
        ("GET /x?api_key=k123&page=2", f"GET /x?api_key={MASK}&page=2"),
        ('{"password": "hunter22", "user": "a"}', f'{{"password": "{MASK}", "user": "a"}}'),
        ("{'client_secret': 's3cr3t'}", f"{{'client_secret': '{MASK}'}}"),
        ("a basic webhook with no secret", "a basic webhook with no secret"),
    ],
)
def test_credential_shaped_text_is_blanked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_configured_secret_values_are_blanked_wherever_they_appear() -> None:
    settings = Settings.model_validate(
        {
            "sources": {
                "d": {"kind": "dixa", "base_url": "https://dixa.test", "api_key": "dixa-api-key-4f1e"},
                "w": {"kind": "workflowgen", "base_url": "https://w.test", "hook_token": "hook-token-77aa"},
            },
            "api_keys": [{"name": "k", "key_sha256": "a" * 64}],
            "store": "sqlite:///:memory:",
        }
    )
    assert set(secret_values(settings)) == {"dixa-api-key-4f1e", "hook-token-77aa"}
    install_redaction(secret_values(settings))
    assert redact("sent dixa-api-key-4f1e and hook-token-77aa") == f"sent {MASK} and {MASK}"


def test_short_values_are_not_blanked_by_value() -> None:
    install_redaction(["sandbox"])
    assert redact("the sandbox answered") == "the sandbox answered"


def _record(msg: object, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("httpx", logging.INFO, __file__, 1, msg, args or None, exc_info)


def test_the_filter_redacts_arguments_one_by_one_and_keeps_numbers() -> None:
    install_redaction(["tok-0123456789"])
    url = httpx.URL("https://h/wfgen/hooks/tok-0123456789/x")
    record = _record('HTTP Request: %s %s "%s %d %s"', "POST", url, "HTTP/1.1", 200, "OK")
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f'HTTP Request: POST https://h/wfgen/hooks/{MASK}/x "HTTP/1.1 200 OK"'
    assert isinstance(record.args, tuple)
    assert record.args[3] == 200


def test_a_structured_message_keeps_its_shape() -> None:
    install_redaction(["struct-secret-5678"])
    record = _record({"event": "request", "path": "/wfgen/hooks/tok-abc/x", "nested": ["struct-secret-5678", 3]})
    RedactingFilter().filter(record)
    assert record.msg == {"event": "request", "path": f"/wfgen/hooks/{MASK}/x", "nested": [MASK, 3]}
    record = _record({"struct-secret-5678": 1})
    RedactingFilter().filter(record)
    assert record.msg == {MASK: 1}


def test_the_filter_redacts_tracebacks() -> None:
    install_redaction(["druid-password-99"])
    try:
        raise ValueError("login refused for druid-password-99")
    except ValueError as exc:
        record = _record("failed", exc=exc)
    RedactingFilter().filter(record)
    assert record.exc_text is not None
    assert "druid-password-99" not in record.exc_text
    assert "ValueError: login refused for ***" in logging.Formatter().format(record)


def test_every_record_passes_the_filter_once_installed(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction(["installed-secret-1234"])
    install_redaction()  # idempotent
    caplog.set_level(logging.INFO, logger="some.library")
    logging.getLogger("some.library").info("connecting with %s", "installed-secret-1234")
    assert caplog.records[-1].getMessage() == f"connecting with {MASK}"


# Fragments that make up what the credential patterns look for, and what sits next to it in real lines.
_FRAGMENTS = [
    "/wfgen/hooks/",
    "tok3n-value",
    "Bearer ",
    "bearer ",
    "BEARER ",
    "Basic ",
    "BASIC ",
    "basic ",
    "dXNlcjpwYXNz",
    "?token=",
    "&api_key=",
    "&Password=",
    "=",
    "?",
    "&",
    '"password": "',
    "'secret':'",
    '"Authorization" : "',
    '"',
    "'",
    ":",
    " ",
    "/",
    "#",
    "x",
    "é",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_credential_patterns_are_skipped_only_where_they_cannot_match(text: str) -> None:
    """The substring tests in front of each pattern change no answer: the same text as every pattern applied."""
    reference = text
    for pattern, replacement in _PATTERNS:
        reference = pattern.sub(replacement, reference)
    assert _credentials(text) == reference
