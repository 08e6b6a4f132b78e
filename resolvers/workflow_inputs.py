"""WorkflowGen mutations' inputs, checked and put in WorkflowGen's own field names before anything is sent.

What needs no backend is checked here (ids of users and processes, exactly one value per parameter, files,
delegation); a caller's mistake is a ``BAD_USER_INPUT`` naming the field and costs no upstream call. The operations
that use these are in ``resolvers/workflow_ops.py``.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import strawberry

from gateway.domain.ports import Source
from gateway.domain.records import FORM_DATA, FORM_NAME
from gateway.errors import BadUserInput
from gateway.uploads import UploadedFile
from schema.ids import ascii_number, decode_id
from schema.inputs import FileInput, FormInput, ParameterInput

#: ParameterInput's value fields: Python name → WorkflowGen's (and the GraphQL input's) name.
VALUE_FIELDS: Final[dict[str, str]] = {
    "text_value": "textValue",
    "numeric_value": "numericValue",
    "date_time_value": "dateTimeValue",
    "file_value": "fileValue",
}

# -- input checks ---------------------------------------------------------------------------------------------------


def _wfg_native(value: object, kind: str) -> str | None:
    """The native part of a WorkflowGen global id [doc: base64 of ``User:1``, ``Request:1``]; None if not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text, which b64decode refuses
        return None
    prefix, sep, native = decoded.partition(":")
    return native if sep and prefix == kind and native else None


def user_id(value: str, *, field: str, source: str) -> str:
    """WorkflowGen's id of a user, from the id ``WorkflowUser.id`` shows (WorkflowGen's own global id, base64 of
    ``User:<n>``) or from a Hookgate global id of type WorkflowUser; BAD_USER_INPUT naming ``field`` otherwise."""
    if _wfg_native(value, "User") is not None:
        return value
    try:
        gid = decode_id(value, field=field)
    except BadUserInput:
        gid = None
    if gid is not None and gid.type == "WorkflowUser":
        if gid.source != source:
            raise BadUserInput(f"{field} belongs to source '{gid.source}', not '{source}'", field=field)
        if ascii_number(gid.native) is not None:
            return base64.b64encode(f"User:{gid.native}".encode()).decode()
        if _wfg_native(gid.native, "User") is not None:
            return gid.native
    raise BadUserInput(f"{field}: '{value[:80]}' is not a WorkflowUser id", field=field)


def process_id(value: str) -> str:
    """WorkflowGen's process id (``Process:1`` as text or base64), as WorkflowGen takes it: base64."""
    native = _wfg_native(value, "Process")
    if native is None and value.startswith("Process:"):
        native = value.removeprefix("Process:")
    if native is None or ascii_number(native) is None:
        raise BadUserInput(f"processId: '{value[:80]}' is not a WorkflowGen process id", field="processId")
    return base64.b64encode(f"Process:{native}".encode()).decode()


def _file(value: FileInput, where: str) -> dict[str, Any]:
    given = [value.content, value.url, value.upload]
    if sum(v is not None for v in given) != 1:
        raise BadUserInput(f"{where}: give exactly one of content (base64), url and upload", field=where)
    body: dict[str, Any] = {"name": value.name}
    if value.content_type is not None:
        body["contentType"] = value.content_type
    if value.description is not None:
        body["description"] = value.description
    if value.updated_at is not None:
        body["updatedAt"] = _datetime(value.updated_at)  # [doc] FileInput.updatedAt
    if value.content is not None:
        try:
            data = base64.b64decode(value.content, validate=True)
        except ValueError:  # binascii.Error, and non-ASCII text, which b64decode refuses
            raise BadUserInput(f"{where}.content is not valid base64", field=f"{where}.content") from None
        body["content"] = value.content
        body["size"] = len(data)
    elif value.upload is not None:
        upload: object = value.upload
        if not isinstance(upload, UploadedFile):
            # An Upload variable given as JSON: only a multipart request's file part is a file.
            raise BadUserInput(
                f"{where}.upload must be a file part of a multipart request (the GraphQL multipart request spec)",
                field=f"{where}.upload",
            )
        # The incoming webhook takes JSON only: the part's bytes go as the documented base64 `content`.
        body["content"] = base64.b64encode(upload.data).decode("ascii")
        body["size"] = len(upload.data)
        if value.content_type is None and upload.content_type:
            body["contentType"] = upload.content_type
    else:
        assert value.url is not None
        if not value.url.startswith("file://"):
            raise BadUserInput(
                f"{where}.url must be a file:// path the WorkflowGen server can read", field=f"{where}.url"
            )
        body["url"] = value.url
    return body


def _datetime(value: datetime) -> str:
    # A date-time without an offset is taken as UTC, so that WorkflowGen never reads it in its own time zone.
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


def parameters(values: Sequence[ParameterInput] | None, *, field: str = "parameters") -> list[dict[str, Any]]:
    """ParameterInputs as WorkflowGen's parameters: a name and exactly one value each, files checked.

    Whether a name and type match the process data only WorkflowGen knows; it refuses a mismatch by name.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, parameter in enumerate(values or ()):
        where = f"{field}[{index}]"
        given = [attr for attr in VALUE_FIELDS if getattr(parameter, attr) is not None]
        if len(given) != 1:
            raise BadUserInput(
                f"{where} ({parameter.name}): give exactly one of {', '.join(VALUE_FIELDS.values())} "
                f"(got {len(given)})",
                field=where,
            )
        if parameter.name in seen:
            raise BadUserInput(f"{where}: parameter {parameter.name} is given more than once", field=where)
        seen.add(parameter.name)
        attr = given[0]
        value: Any = getattr(parameter, attr)
        if attr == "numeric_value" and not math.isfinite(value):
            raise BadUserInput(f"{where}.numericValue must be a finite number", field=f"{where}.numericValue")
        if attr == "date_time_value":
            value = _datetime(value)
        elif attr == "file_value":
            value = _file(value, f"{where}.fileValue")
        out.append({"name": parameter.name, VALUE_FIELDS[attr]: value})
    return out


def delegation(adapter: Source, on_behalf_of: strawberry.ID | None, user_name: str | None) -> dict[str, Any]:
    """WorkflowGen's delegation fields for the operations that take them."""
    body: dict[str, Any] = {}
    if on_behalf_of is not None:
        body["onBehalfOf"] = user_id(on_behalf_of, field="onBehalfOf", source=adapter.name)
    if user_name is not None:
        if not user_name:
            raise BadUserInput("onBehalfOfUserName must not be empty", field="onBehalfOfUserName")
        body["onBehalfOfUserName"] = user_name
    return body


# -- web forms ------------------------------------------------------------------------------------------------------

#: Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def form(value: FormInput, given: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    """A ``form`` checked (names as XML names, once each; values XML can carry; no ``FORM_DATA`` parameter beside it)
    as the adapter takes it: ``{"table": ..., "fields": [{"name", "value"}]}``. The adapter builds the XML."""
    if any(p.get("name") == FORM_DATA for p in given or ()):
        raise BadUserInput(
            f"give the form either as `form` or as the {FORM_DATA} parameter, not both",
            field="form",
            reason="FORM_GIVEN_TWICE",
        )
    if not FORM_NAME.match(value.table):
        raise BadUserInput(f"form.table: {value.table[:80]!r} is not an XML name", field="form.table")
    if not value.fields:
        raise BadUserInput("form.fields must hold at least one field", field="form.fields")
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, field in enumerate(value.fields):
        where = f"form.fields[{index}]"
        if not FORM_NAME.match(field.name):
            raise BadUserInput(
                f"{where}.name: {field.name[:80]!r} is not a form field id (an XML name: a letter or _, then letters, "
                "digits, _, - or .)",
                field=f"{where}.name",
            )
        if field.name in seen:
            raise BadUserInput(f"{where}.name: field {field.name} is given more than once", field=f"{where}.name")
        seen.add(field.name)
        if field.value is not None and _NOT_XML.search(field.value):
            raise BadUserInput(f"{where}.value holds a character XML cannot carry", field=f"{where}.value")
        fields.append({"name": field.name, "value": field.value})
    return {"table": value.table, "fields": fields}
