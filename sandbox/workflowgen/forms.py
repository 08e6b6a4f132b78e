"""Web-form actions (WorkflowGen's EFORMASPX application) as the simulator completes them.

[doc] A web form reads and writes its data through the process data ``FORM_DATA``, a FILE holding the form's dataset
as .NET DataSet XML (``<NewDataSet><Table1><FIELD_ID>value</FIELD_ID>...</Table1></NewDataSet>``), and the action's
parameters map form fields to other process data.

[stand-in] Completing such an action through the incoming webhook: the action's activity is a web form, so
``completeAction`` must carry the ``FORM_DATA`` parameter (an error naming it otherwise). The fields of the dataset's
first row are mapped as an EFORMASPX action's OUT parameters would be: field ``X`` to data ``X`` when the process has
such data (TEXT as is, NUMERIC and DATETIME parsed, an empty element clearing the data; FILE data is not written from
a form); a parameter given for the same data wins. An action that is not a web form takes ``FORM_DATA`` as any other
FILE data, without mapping its fields.

The XML is parsed with expat, with every DTD refused (so no entity can be declared, let alone expanded): a form's
dataset has none.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

from sandbox.kit import iso_millis
from sandbox.workflowgen.model import Action, DataScalar, DataType, DataValue, FileValue, Process, bad_input

FORM_DATA = "FORM_DATA"


class _Refused(Exception):
    pass


def _no_dtd(*_: Any) -> None:
    raise _Refused("a DTD is not allowed in a form's dataset")


def read_dataset(data: bytes) -> dict[str, str]:
    """The fields of the dataset's first row, ``{field id: text}``; an error naming FORM_DATA if it is no dataset."""
    depth = 0
    row_seen = False
    in_row = False
    fields: dict[str, str] = {}
    current: str | None = None
    text: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, row_seen, in_row, current
        depth += 1
        if depth == 2 and not row_seen:
            row_seen = in_row = True
        elif depth == 3 and in_row:
            current, text[:] = name, []

    def end(name: str) -> None:
        nonlocal depth, in_row, current
        if depth == 3 and in_row and current is not None:
            fields[current] = "".join(text)
            current = None
        elif depth == 2:
            in_row = False
        depth -= 1

    def characters(chunk: str) -> None:
        if current is not None and depth == 3:
            text.append(chunk)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, _Refused) as exc:
        raise bad_input(f"parameter {FORM_DATA!r}: the form's dataset is not readable XML: {exc}") from None
    if not row_seen:
        raise bad_input(f"parameter {FORM_DATA!r}: the form's dataset has no row (<NewDataSet><Table1>...)")
    return fields


def _field_value(name: str, data_type: DataType, text: str) -> DataScalar:
    if data_type is DataType.TEXT:
        return text
    if not text.strip():
        return None
    if data_type is DataType.NUMERIC:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise bad_input(f"form field {name!r}: {text[:40]!r} is not a number for NUMERIC data {name!r}")
        return number
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad_input(f"form field {name!r}: {text[:40]!r} is not a date-time for DATETIME data {name!r}") from None
    # As a dateTimeValue parameter: without an offset, UTC.
    return iso_millis((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def complete_form(action: Action, process: Process, values: list[DataValue]) -> list[DataValue]:
    """``values`` with the form's fields mapped to process data, for a web-form action; unchanged otherwise."""
    if not action.definition.web_form:
        return values
    form = next((v for v in values if v.name == FORM_DATA), None)
    if form is None or not isinstance(form.value, FileValue):
        raise bad_input(
            f"completeAction: action {action.name!r} is a web form (EFORMASPX): parameter {FORM_DATA!r} is required"
        )
    if form.value.content is None:
        raise bad_input(f"parameter {FORM_DATA!r}: give the form's dataset as content, not url")
    given = {v.name for v in values}
    mapped: list[DataValue] = []
    for name, text in read_dataset(form.value.content).items():
        data_type = process.data.get(name)
        if data_type is None or data_type is DataType.FILE or name in given:
            continue
        mapped.append(DataValue(name, data_type, _field_value(name, data_type, text)))
    return [*values, *mapped]
