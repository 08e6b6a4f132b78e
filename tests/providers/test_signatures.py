"""Signature vectors for every kind: valid, tampered, stale, missing, malformed, and sources with nothing configured.

Known-answer vectors were computed once with Python's hmac from the formulas in providers.md; the round-trip cases
sign with the sandbox's own implementation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from gateway.config import Settings, SourceConfig
from gateway.events.signatures import verify
from gateway.providers.dixa.inbound import signature as dixa_signature
from gateway.providers.inbound import (
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    NotConfigured,
    SignatureError,
    StaleSignature,
    standard_signature,
)
from gateway.providers.uipath.inbound import signature as uipath_signature
from tests.support.events import (
    DIXA_KEY,
    UIPATH_SECRET,
    auco_delivery,
    dixa_delivery,
    receiver_settings,
    standard_delivery,
    uipath_delivery,
)

SETTINGS = receiver_settings()
PING = b'{"Type":"ping","EventId":"c3319a2d83c44b2f989bdd7eba1f0297"}'


def source(name: str, settings: Settings = SETTINGS) -> SourceConfig:
    return settings.sources[name]


def check(name: str, headers: dict[str, str], body: bytes, *, now: float | None = None, **overrides: Any) -> None:
    config = source(name)
    if overrides:
        config = config.model_copy(update=overrides)
    verify(name, config, {k.lower(): v for k, v in headers.items()}, body, now=now)


#: A signed delivery made when the test runs.
Delivery = Callable[[], tuple[bytes, dict[str, str]]]


# ------------------------------------------------------------------------------------------------ known answers


def test_uipath_known_answer() -> None:
    assert uipath_signature(UIPATH_SECRET, PING) == "pvNHYd055nsCpnS2Sbnjks0OpAXsXSjZevyNCh1EF/g="
    check("uipath", {"X-UiPath-Signature": "pvNHYd055nsCpnS2Sbnjks0OpAXsXSjZevyNCh1EF/g="}, PING)


def test_dixa_known_answer() -> None:
    body = b'{"event_id":"1","event_fqn":"CONVERSATION_CREATED"}'
    expected = "4d5dd431c827ffd115ac2f89b7e5bc974aaf69219f7dcf9b82f6d621b75653ea"
    assert dixa_signature(DIXA_KEY, body, 1_700_000_000_000) == f"t=1700000000000,v1={expected}"
    check("dixa", {"X-DIXA-SIGNATURE": f"t=1700000000000,v1={expected}"}, body, now=1_700_000_100)


def test_standard_webhooks_known_answer() -> None:
    signature = standard_signature(
        "whsec_c2FuZGJveC13b3JrZmxvd2dlbi1zZWNyZXQ=", "msg_1", 1_700_000_000, b'{"type":"x"}'
    )
    assert signature == "v1,LoE0y7P2p/uuucIwtAFIu9hrgmOU7F7tFVRFu8Yom+o="


# ------------------------------------------------------------------------------------------------------ valid


@pytest.mark.parametrize(
    ("name", "delivery"),
    [
        ("uipath", lambda: uipath_delivery("e1")),
        ("dixa", lambda: dixa_delivery("d1")),
        ("auco", auco_delivery),
        ("workflowgen", standard_delivery),
    ],
)
def test_valid_signature_is_accepted(name: str, delivery: Delivery) -> None:
    body, headers = delivery()  # signed now, not at collection: a long run would make it stale
    check(name, headers, body)


def test_dixa_accepts_any_matching_v1_among_several() -> None:
    body, headers = dixa_delivery("d1")
    t, v1 = headers["X-DIXA-SIGNATURE"].split(",")
    check("dixa", {"X-DIXA-SIGNATURE": f"{t},v1={'0' * 64},{v1}"}, body)


def test_druid_with_a_standard_secret_accepts_standard_webhooks() -> None:
    body, headers = standard_delivery("flow.started")
    settings = receiver_settings(
        sources={
            "druid": {
                "kind": "druid",
                "base_url": "http://127.0.0.1:9",
                "endpoints_url": "http://127.0.0.1:9",
                "token": "t",
                "standard_webhooks_secret": "whsec_c2FuZGJveC13b3JrZmxvd2dlbi1zZWNyZXQ=",
            }
        }
    )
    verify("druid", source("druid", settings), {k.lower(): v for k, v in headers.items()}, body)


# ---------------------------------------------------------------------------------------------------- tampered


@pytest.mark.parametrize(
    ("name", "delivery"),
    [
        ("uipath", lambda: uipath_delivery("e1")),
        ("dixa", lambda: dixa_delivery("d1")),
        ("workflowgen", standard_delivery),
    ],
)
def test_tampered_body_is_refused(name: str, delivery: Delivery) -> None:
    body, headers = delivery()
    with pytest.raises(InvalidSignature) as caught:
        check(name, headers, body.replace(b"1", b"2", 1))
    assert caught.value.status == 401


def test_tampered_signatures_are_refused() -> None:
    body, headers = uipath_delivery("e1")
    flipped = ("A" if headers["X-UiPath-Signature"][0] != "A" else "B") + headers["X-UiPath-Signature"][1:]
    with pytest.raises(InvalidSignature):
        check("uipath", {"X-UiPath-Signature": flipped}, body)
    body, headers = dixa_delivery("d1")
    t, _ = headers["X-DIXA-SIGNATURE"].split(",")
    with pytest.raises(InvalidSignature):
        check("dixa", {"X-DIXA-SIGNATURE": f"{t},v1={'ab' * 32}"}, body)
    # Changing t breaks the MAC too: the timestamp is part of what Dixa signs.
    sig = headers["X-DIXA-SIGNATURE"]
    ms = int(sig.split(",")[0][2:])
    with pytest.raises(InvalidSignature):
        check("dixa", {"X-DIXA-SIGNATURE": sig.replace(f"t={ms}", f"t={ms + 1}")}, body)


def test_wrong_secret_is_refused() -> None:
    body, headers = uipath_delivery("e1")
    with pytest.raises(InvalidSignature):
        check("uipath", headers, body, webhook_secret=_secret("another-secret"))
    body, headers = auco_delivery()
    with pytest.raises(InvalidSignature):
        check("auco", {"X-Auco-Token": "sandbox-auco-tokem"}, body)


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


# ------------------------------------------------------------------------------------------------------- stale


def test_stale_dixa_signature_is_refused_either_side_of_the_window() -> None:
    now = time.time()
    for offset in (-301, 301):
        body, headers = dixa_delivery("d1", at=now + offset)
        with pytest.raises(StaleSignature) as caught:
            check("dixa", headers, body, now=now)
        assert caught.value.status == 401
    body, headers = dixa_delivery("d1", at=now - 290)
    check("dixa", headers, body, now=now)


def test_stale_standard_webhook_is_refused() -> None:
    body, headers = standard_delivery(at=time.time() - 600)
    with pytest.raises(StaleSignature):
        check("workflowgen", headers, body)


def test_uipath_signs_no_timestamp_so_replays_are_caught_by_dedupe_instead() -> None:
    # UiPath's scheme has no time in it: the same delivery verifies at any time, and the log's dedupe by EventId
    # (tests/events/test_receiver.py) is what keeps a replay from being stored twice.
    body, headers = uipath_delivery("e1")
    check("uipath", headers, body, now=0)


# ----------------------------------------------------------------------------------------------------- missing


@pytest.mark.parametrize("name", ["uipath", "dixa", "auco", "workflowgen"])
def test_missing_signature_is_refused(name: str) -> None:
    with pytest.raises(MissingSignature) as caught:
        check(name, {}, b'{"Type":"ping"}')
    assert caught.value.status == 401


def test_standard_webhooks_needs_all_three_headers() -> None:
    body, headers = standard_delivery()
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(MissingSignature, match=name):
            check("workflowgen", partial, body)


# --------------------------------------------------------------------------------------------------- malformed

MALFORMED = [
    ("uipath", "X-UiPath-Signature", "not base64!"),
    ("uipath", "X-UiPath-Signature", "c2hvcnQ="),  # base64, but not 32 bytes
    ("uipath", "X-UiPath-Signature", "é" * 44),
    ("dixa", "X-DIXA-SIGNATURE", "garbage"),
    ("dixa", "X-DIXA-SIGNATURE", "t=,v1=" + "0" * 64),
    ("dixa", "X-DIXA-SIGNATURE", "t=abc,v1=" + "0" * 64),
    ("dixa", "X-DIXA-SIGNATURE", "t=١٢٣,v1=" + "0" * 64),  # Arabic-Indic digits: isdigit() but not ASCII
    ("dixa", "X-DIXA-SIGNATURE", "t=1,t=2,v1=" + "0" * 64),
    ("dixa", "X-DIXA-SIGNATURE", "t=1700000000000"),
    ("dixa", "X-DIXA-SIGNATURE", "v1=" + "0" * 64),
    ("dixa", "X-DIXA-SIGNATURE", "t=1700000000000,v1=zz" + "0" * 62),
    ("dixa", "X-DIXA-SIGNATURE", "t=1700000000000,v1=00"),
    ("dixa", "X-DIXA-SIGNATURE", "t=" + "9" * 40 + ",v1=" + "0" * 64),
    ("dixa", "X-DIXA-SIGNATURE", "t=1," + "x=y," * 400 + "v1=" + "0" * 64),
    ("workflowgen", "webhook-timestamp", "yesterday"),
    ("workflowgen", "webhook-timestamp", "1e9"),
    ("workflowgen", "webhook-signature", "v1"),
    ("workflowgen", "webhook-signature", "v1,a,b"),
    # Judged by our parser, not by whichever standardwebhooks release is installed (1.3 calls some of these invalid).
    ("workflowgen", "webhook-signature", "v1,"),
    ("workflowgen", "webhook-signature", ",c2lnbmF0dXJl"),
    ("workflowgen", "webhook-signature", "v1,not base64!"),
    ("workflowgen", "webhook-signature", "v1,c2lnbmF0dXJl v1,a,b"),
]


@pytest.mark.parametrize(("name", "header", "value"), MALFORMED)
def test_malformed_header_is_a_400(name: str, header: str, value: str) -> None:
    body, headers = {"uipath": uipath_delivery, "dixa": dixa_delivery, "workflowgen": standard_delivery}[name](
        *(["x"] if name != "workflowgen" else [])
    )
    with pytest.raises(MalformedSignature) as caught:
        check(name, {**headers, header: value}, body, now=1_700_000_000 if name == "dixa" else None)
    assert caught.value.status == 400


def test_standard_signature_with_bad_base64_is_refused_not_crashed() -> None:
    body, headers = standard_delivery()
    with pytest.raises(SignatureError) as caught:
        check("workflowgen", {**headers, "webhook-signature": "v1,!!!!"}, body)
    assert caught.value.status in (400, 401)


def test_non_utf8_body_for_standard_webhooks_is_refused() -> None:
    _, headers = standard_delivery()
    with pytest.raises(InvalidSignature):
        check("workflowgen", headers, b"\xff\xfe")


# ------------------------------------------------------------------------------------------------ not configured


@pytest.mark.parametrize(
    ("name", "overrides", "key"),
    [
        ("uipath", {"webhook_secret": None}, "webhook_secret"),
        ("dixa", {"webhook_secret_key": None}, "webhook_secret_key"),
        ("auco", {"webhook_header_value": None}, "webhook_header"),
        ("workflowgen", {"standard_webhooks_secret": None}, "standard_webhooks_secret"),
    ],
)
def test_source_without_a_secret_refuses_even_correctly_signed_deliveries(
    name: str, overrides: dict[str, Any], key: str
) -> None:
    body, headers = {
        "uipath": uipath_delivery("e1"),
        "dixa": dixa_delivery("d1"),
        "auco": auco_delivery(),
        "workflowgen": standard_delivery(),
    }[name]
    with pytest.raises(NotConfigured) as caught:
        check(name, headers, body, **overrides)
    assert caught.value.status == 403
    assert key in caught.value.message
    assert f"sources.{name}." in caught.value.message


def test_messages_never_contain_the_secret_or_the_signature() -> None:
    body, headers = uipath_delivery("e1")
    with pytest.raises(SignatureError) as caught:
        check("uipath", {"X-UiPath-Signature": headers["X-UiPath-Signature"]}, body + b" ")
    assert UIPATH_SECRET not in caught.value.message
    assert headers["X-UiPath-Signature"] not in caught.value.message
