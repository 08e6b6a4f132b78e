"""The pieces of ``gateway/idempotency.py`` and ``resolvers/idempotency.py``: stored answers, fingerprints, the release
rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
import strawberry
from strawberry.scalars import JSON

from gateway.domain.records import WebhookRecord
from gateway.errors import (
    BadUserInput,
    CapabilityUnsupported,
    CircuitOpen,
    Conflict,
    Forbidden,
    HookgateError,
    InternalError,
    NotFound,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.idempotency import changed_nothing, check_key, encode_error
from resolvers.idempotency import decode_answer, encode_payload, fingerprint
from schema.enums import CancelActionType
from schema.inputs import CancelActionInput, ParameterInput, UpdateRequestDatasetInput, UpdateWebhookInput
from schema.payloads import (
    ActionPayload,
    CreateRequestPayload,
    DeleteWebhookPayload,
    PingWebhookPayload,
    StartFlowPayload,
    WebhookPayload,
)
from schema.types import DataValue, FileValue, Webhook, WorkflowAction, WorkflowRequest, WorkflowUser

WHEN = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def action(status: str = "OPEN") -> WorkflowAction:
    return WorkflowAction(
        id=strawberry.ID("QWN0aW9u"),
        source="workflowgen",
        number=1,
        request_number=2,
        name="APPROVAL",
        status=status,
        assignee=WorkflowUser(id=strawberry.ID("VXNlcjox"), user_name="wfgen_admin"),
        opened_at=WHEN,
        closed_at=None,
    )


PAYLOADS = [
    CreateRequestPayload(
        request=WorkflowRequest(
            id=strawberry.ID("UmVx"),
            source="workflowgen",
            number=2,
            process_name="EXPENSE_CLAIM",
            process_version=1,
            status="OPEN",
            description=None,
            opened_at=WHEN.astimezone(timezone(timedelta(hours=2))),
            closed_at=None,
            actions=[action()],
            dataset=[
                DataValue(name="AMOUNT", text_value=None, numeric_value=1.5, date_time_value=None, file_value=None),
                DataValue(
                    name="RECEIPT",
                    text_value=None,
                    numeric_value=None,
                    date_time_value=None,
                    file_value=FileValue(name="a.pdf", content_type="application/pdf", size=3, description=None),
                ),
            ],
        ),
        on_behalf_of=WorkflowUser(id=None, user_name="jdoe"),
        on_behalf_of_user_name="jdoe",
        client_mutation_id="c",
    ),
    ActionPayload(action=action("CLOSED")),
    DeleteWebhookPayload(deleted_id=strawberry.ID("x"), client_mutation_id="d"),
    PingWebhookPayload(type="ping", event_id="e1", timestamp=WHEN),
    StartFlowPayload(
        result=JSON({"$type": "not a type", "items": [{"$map": 1}, None, 2.5, "s"]}), client_mutation_id="f"
    ),
    StartFlowPayload(result=None),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
def test_a_stored_payload_rebuilds_to_an_equal_object(payload: object) -> None:
    rebuilt = decode_answer(encode_payload(payload))
    assert type(rebuilt) is type(payload)
    assert rebuilt == payload


# WebhookPayload is rebuilt through the request's WebhookJoins: test_idempotency.py covers it
# end to end, for a source whose joined fields load lazily (Dixa) and one whose are at hand (UiPath).


def test_only_schema_types_are_stored() -> None:
    with pytest.raises(TypeError):
        encode_payload(WebhookRecord(source="s", provider="uipath", provider_id="1", url="u"))


def test_a_recorded_failure_is_raised_again_marked_replayed() -> None:
    stored = encode_error(UpstreamError("source 'wfg' failed", status=503, source="wfg", provider="workflowgen"))
    with pytest.raises(HookgateError) as raised:
        decode_answer(stored)
    assert raised.value.code == "UPSTREAM_ERROR"
    assert raised.value.message == "source 'wfg' failed"
    assert raised.value.extensions == {
        "code": "UPSTREAM_ERROR",
        "source": "wfg",
        "provider": "WORKFLOWGEN",
        "status": 503,
        "replayed": True,
    }


def test_a_bug_is_recorded_masked() -> None:
    with pytest.raises(HookgateError) as raised:
        decode_answer(encode_error(KeyError("some internal detail")))
    assert raised.value.code == "INTERNAL"
    assert "detail" not in raised.value.message


def test_fingerprints_cover_the_whole_input_and_the_mutation() -> None:
    base = UpdateRequestDatasetInput(parameters=[ParameterInput(name="A", numeric_value=1.0)], number=1)
    same = UpdateRequestDatasetInput(number=1, parameters=[ParameterInput(name="A", numeric_value=1.0)])
    assert fingerprint("update_request_dataset", base) == fingerprint("update_request_dataset", same)
    assert fingerprint("update_request_dataset", base) != fingerprint("create_request", base)
    with_cmid = UpdateRequestDatasetInput(parameters=base.parameters, number=1, client_mutation_id="x")
    assert fingerprint("update_request_dataset", base) != fingerprint("update_request_dataset", with_cmid)
    cancel = CancelActionInput(number=1, request_number=1, type=CancelActionType.ERROR)
    assert fingerprint("cancel_action", cancel) != fingerprint(
        "cancel_action", CancelActionInput(number=1, request_number=1)
    )


def test_a_field_left_out_of_an_update_differs_from_an_explicit_null() -> None:
    left_out = UpdateWebhookInput(id=strawberry.ID("w"), url="https://e.com")
    nulled = UpdateWebhookInput(id=strawberry.ID("w"), url="https://e.com", name=None)
    assert fingerprint("update_webhook", left_out) != fingerprint("update_webhook", nulled)


@pytest.mark.parametrize(
    ("error", "released"),
    [
        (BadUserInput("x"), True),
        (CapabilityUnsupported("x"), True),
        (Forbidden("x"), True),
        (NotFound("x"), True),
        (Conflict("x", reason="R"), True),
        (UpstreamError("x", status=400), True),
        (UpstreamError("x", status=409), True),
        (RateLimited("x"), True),
        (CircuitOpen("x"), True),
        (UpstreamError("x", status=500), False),
        (UpstreamError("x", status=503), False),
        (UpstreamError("x"), False),
        (UpstreamTimeout("x"), False),
        (UpstreamUnavailable("x"), False),
        (InternalError("x"), False),
        (RuntimeError("x"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_only_failures_that_changed_nothing_release_the_key(error: Exception, released: bool) -> None:
    assert changed_nothing(error) is released


@pytest.mark.parametrize("key", ["a", "x" * 255, "order-42/retry 1", "~!@#$%^&*()"])
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "caf\u00e9", "new\nline"])
def test_bad_keys_name_the_header(key: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        check_key(key)
    assert raised.value.extensions["field"] == "Idempotency-Key"


def test_stored_answers_name_graphql_types_not_python_modules() -> None:
    hook = Webhook.from_record(WebhookRecord(source="uipath", provider="uipath", provider_id="1", url="u"), [], None)
    stored = orjson.loads(encode_payload(WebhookPayload(webhook=hook, client_mutation_id="w")))["data"]
    assert stored["$type"] == "WebhookPayload"
    assert stored["fields"]["webhook"]["$webhook"]["provider"] == {"$enum": "Provider", "value": "uipath"}
    action_payload = orjson.loads(encode_payload(ActionPayload(action=action())))["data"]
    assert action_payload["fields"]["action"]["$type"] == "WorkflowAction"
    assert action_payload["fields"]["action"]["fields"]["assignee"]["$type"] == "WorkflowUser"


def test_an_answer_stored_in_the_old_format_is_an_error_not_a_replay() -> None:
    old = orjson.dumps({"v": 1, "data": {"$type": "schema.payloads.ActionPayload", "fields": {"action": None}}})
    with pytest.raises(HookgateError) as raised:
        decode_answer(old)
    assert raised.value.code == "INTERNAL"
