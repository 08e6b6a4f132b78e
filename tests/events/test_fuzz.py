"""Receiver fuzzing: 5,200 seeded cases against ``/hooks/{source}`` in process. Invariants: never a 5xx, and never
a 2xx for a delivery that was not signed with the source's secret.

Four generators, 1,300 cases each, derandomized (the same cases on every run): unsigned noise, correctly signed
arbitrary bodies, signed-then-tampered deliveries, and structurally plausible but malformed signature headers.
The app runs once per test on a private event loop (``asyncio.Runner``), with an in-memory store.
"""

from __future__ import annotations

import asyncio
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.parsing import parse_instant
from sandbox.deliveries import WORKFLOWGEN_SECRET, sign_dixa, sign_standard, sign_uipath
from tests.support.events import AUCO_HEADER, DIXA_KEY, UIPATH_SECRET, receiver_settings

CASES = 1300
FUZZ = settings(
    max_examples=CASES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

SOURCES = ("uipath", "dixa", "auco", "workflowgen", "druid")
SIGNATURE_HEADERS = (
    "X-UiPath-Signature",
    "X-DIXA-SIGNATURE",
    AUCO_HEADER[0],
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
)

# Header values must be latin-1 on the wire; printable ASCII plus a few latin-1 letters covers the parsers' edges.
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=120
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)  # fmt: skip
provider_fields = st.fixed_dictionaries(
    {},
    optional={
        "Type": json_values | st.sampled_from(["job.completed", "ping", ""]),
        "EventId": json_values | st.text(max_size=300),
        "Timestamp": json_values | st.sampled_from(["2018-11-19T14:32:47.6024779Z", "2024-13-45T99:00:00Z"]),
        "event_id": json_values,
        "event_fqn": json_values,
        "event_timestamp": json_values,
        "status": json_values | st.sampled_from(["FINISH", "SIGNED_PACKAGE", "finish"]),
        "package": json_values,
        "type": json_values,
        "timestamp": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    st.dictionaries(st.text(max_size=10), json_values, max_size=6).map(orjson.dumps),
    provider_fields.map(orjson.dumps),
)


@dataclass
class Harness:
    runner: asyncio.Runner
    client: httpx.AsyncClient
    statuses: list[int]

    def post(self, source: str, body: bytes, headers: dict[str, str]) -> int:
        # As bytes: httpx would encode str values as ASCII, and the wire allows latin-1.
        raw = {name: value.encode("latin-1") for name, value in headers.items()}
        response = self.runner.run(self.client.post(f"/hooks/{source}", content=body, headers=raw))
        self.statuses.append(response.status_code)
        assert response.status_code < 500, (response.status_code, response.text)
        return response.status_code


@pytest.fixture
def harness() -> Iterator[Harness]:
    """The app on a loop of its own; its lifespan is held open by one task across the examples' ``runner.run``."""
    runner = asyncio.Runner()
    stop = asyncio.Event()

    async def hold(ready: asyncio.Future[httpx.AsyncClient]) -> None:
        async with LifespanManager(create_app(receiver_settings())) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                ready.set_result(client)
                await stop.wait()

    async def start() -> tuple[asyncio.Task[None], httpx.AsyncClient]:
        ready: asyncio.Future[httpx.AsyncClient] = asyncio.get_running_loop().create_future()
        task = asyncio.get_running_loop().create_task(hold(ready))
        return task, await ready

    task, client = runner.run(start())
    try:
        yield Harness(runner, client, [])
    finally:
        stop.set()
        runner.run(asyncio.wait_for(task, 10))
        runner.close()


def _signed(source: str, body: bytes, now: float) -> dict[str, str]:
    if source == "uipath":
        return {"X-UiPath-Signature": sign_uipath(UIPATH_SECRET, body)}
    if source == "dixa":
        return {"X-DIXA-SIGNATURE": sign_dixa(DIXA_KEY, body, int(now * 1000))}
    if source == "auco":
        return {AUCO_HEADER[0]: AUCO_HEADER[1]}
    msg_id = f"msg_{abs(hash(body))}"
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": sign_standard(WORKFLOWGEN_SECRET, msg_id, int(now), body),
    }


def test_unsigned_noise_is_never_accepted(harness: Harness) -> None:
    @FUZZ
    @given(
        source=st.sampled_from(SOURCES) | st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", min_size=1),
        body=bodies,
        headers=st.dictionaries(st.sampled_from(SIGNATURE_HEADERS) | st.sampled_from(["content-type", "x-other"]),
                                header_text, max_size=4),
    )  # fmt: skip
    def case(source: str, body: bytes, headers: dict[str, str]) -> None:
        status = harness.post(source, body, headers)
        assert not 200 <= status < 300, (source, headers)

    case()
    assert len(harness.statuses) >= CASES


def test_signed_arbitrary_bodies_are_stored_or_refused_as_bad_json(harness: Harness) -> None:
    @FUZZ
    @given(source=st.sampled_from(["uipath", "dixa", "auco", "workflowgen"]), body=bodies)
    def case(source: str, body: bytes) -> None:
        status = harness.post(source, body, _signed(source, body, time.time()))
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        is_object = isinstance(parsed, dict)
        expected = 200 if is_object else 400
        if source == "uipath" and isinstance(parsed, dict) and _older_than_the_dedupe_window(parsed):
            expected = 401  # its signed Timestamp says it is a replay
        if source == "workflowgen" and not _utf8(body):
            expected = 401  # Standard Webhooks signs text: bytes that are not UTF-8 cannot carry a valid signature
        assert status == expected, (source, body[:80])

    case()
    assert len(harness.statuses) >= CASES


def _older_than_the_dedupe_window(payload: dict[str, Any]) -> bool:
    """UiPath's time (the first of its fields present, as the gateway reads it) is past the 30-day retention less
    its one-hour margin."""
    stamp = next((payload[k] for k in ("Timestamp", "timestamp", "EventTime") if payload.get(k) is not None), None)
    instant = parse_instant(stamp)
    return instant is not None and time.time() - instant.timestamp() > 30 * 86_400 - 3600


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_tampered_deliveries_are_never_accepted(harness: Harness) -> None:
    @FUZZ
    @given(
        source=st.sampled_from(["uipath", "dixa", "auco", "workflowgen"]),
        body=bodies,
        where=st.sampled_from(["body", "signature"]),
        position=st.integers(min_value=0, max_value=10_000),
        flip=st.integers(min_value=1, max_value=255),
    )
    def case(source: str, body: bytes, where: str, position: int, flip: int) -> None:
        headers = _signed(source, body, time.time())
        if where == "body" and body and source != "auco":  # Auco signs nothing: its body is not protected
            i = position % len(body)
            body = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
        else:
            name = next(n for n in headers if n.lower() not in ("webhook-id", "webhook-timestamp"))
            value = headers[name]
            i = position % len(value)
            replacement = chr((ord(value[i]) ^ flip) % 0x7F or 0x41)
            # Case-only changes are not tampering for Dixa's hex, which is read case-insensitively.
            if replacement.lower() == value[i].lower() or replacement in "\r\n\x00":
                replacement = "#"
            headers[name] = value[:i] + replacement + value[i + 1 :]
        status = harness.post(source, body, headers)
        assert not 200 <= status < 300, (source, where)

    case()
    assert len(harness.statuses) >= CASES


dixa_parts = st.lists(
    st.one_of(
        st.builds(lambda v: f"t={v}", st.integers(-10, 2**70) | header_text),
        st.builds(lambda v: f"v1={v}", st.text(alphabet="0123456789abcdefABCDEFxyz", max_size=70) | header_text),
        header_text,
    ),
    max_size=5,
).map(",".join)
standard_signatures = (
    st.lists(st.builds(lambda v, s: f"{v},{s}", st.sampled_from(["v1", "v2", "", "v1a"]), header_text), max_size=3).map(
        " ".join
    )
    | header_text
)


def test_plausible_but_malformed_headers_are_4xx(harness: Harness) -> None:
    @FUZZ
    @given(
        source=st.sampled_from(["uipath", "dixa", "workflowgen"]),
        body=bodies,
        uipath=header_text | st.binary(max_size=40).map(lambda b: __import__("base64").b64encode(b).decode()),
        dixa=dixa_parts,
        timestamp=st.integers(-(2**40), 2**40).map(str) | header_text,
        signature=standard_signatures,
    )
    def case(source: str, body: bytes, uipath: str, dixa: str, timestamp: str, signature: str) -> None:
        headers: dict[str, Any] = {
            "uipath": {"X-UiPath-Signature": uipath},
            "dixa": {"X-DIXA-SIGNATURE": dixa},
            "workflowgen": {"webhook-id": "msg_1", "webhook-timestamp": timestamp, "webhook-signature": signature},
        }[source]
        status = harness.post(source, body, headers)
        assert 400 <= status < 500, (source, headers)

    case()
    assert len(harness.statuses) >= CASES
