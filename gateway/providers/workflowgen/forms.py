"""Completing a web-form action (WorkflowGen's EFORMASPX application) through the incoming webhook.

[doc] A web form reads and writes its data through the process data ``FORM_DATA``, a FILE holding the form's dataset
as .NET DataSet XML (``<NewDataSet><Table1><FIELD_ID>value</FIELD_ID>...</Table1></NewDataSet>``); the action's
parameters map form fields to other process data.

[stand-in] No request shape for completing such an action through the incoming webhook is published. Hookgate sends
the form as that FILE parameter: ``{"name": "FORM_DATA", "fileValue": {"name": "FORM_DATA.xml", "contentType":
"text/xml", "content": <base64 of the XML>, "size": <bytes>}}`` beside the caller's other parameters, and expects
WorkflowGen to map the fields as the action's OUT parameters say. [likely] A field whose value is null is left out of
the row, as a DataSet writes a null.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, Final

from gateway.domain.records import FORM_DATA, FORM_NAME

FILE_NAME: Final = "FORM_DATA.xml"
CONTENT_TYPE: Final = "text/xml"
#: [doc] The root of a form's dataset: a .NET DataSet without a name of its own.
DATASET: Final = "NewDataSet"


class FormError(ValueError):
    """A form that cannot be written as XML; ``field`` is the input field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def dataset_xml(table: str, fields: Sequence[Mapping[str, Any]]) -> bytes:
    """The form's dataset: one row of ``table`` holding ``fields`` (``{"name", "value"}``), UTF-8 XML.

    Built with ElementTree, which escapes every value; names are checked here, since ElementTree writes any tag.
    """
    if not FORM_NAME.match(table):
        raise FormError(f"form.table: {table[:80]!r} is not an XML name", "form.table")
    root = ET.Element(DATASET)
    row = ET.SubElement(root, table)
    for index, field in enumerate(fields):
        name, value = field.get("name"), field.get("value")
        if not isinstance(name, str) or not FORM_NAME.match(name):
            raise FormError(f"form.fields[{index}].name is not an XML name", f"form.fields[{index}].name")
        if value is None:
            continue  # [likely] DBNull: no element
        ET.SubElement(row, name).text = str(value)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def form_parameter(form: Mapping[str, Any]) -> dict[str, Any]:
    """[stand-in] The FILE parameter ``FORM_DATA`` that carries ``form`` (``{"table", "fields"}``)."""
    xml = dataset_xml(str(form.get("table") or "Table1"), form.get("fields") or ())
    return {
        "name": FORM_DATA,
        "fileValue": {
            "name": FILE_NAME,
            "contentType": CONTENT_TYPE,
            "content": base64.b64encode(xml).decode("ascii"),
            "size": len(xml),
        },
    }


def with_form(input: Mapping[str, Any]) -> dict[str, Any]:
    """``input`` with its ``form`` turned into the ``FORM_DATA`` parameter, after the caller's parameters."""
    body = dict(input)
    form = body.pop("form")
    parameters = list(body.get("parameters") or ())
    if any(isinstance(p, Mapping) and p.get("name") == FORM_DATA for p in parameters):
        raise FormError(f"give the form either as `form` or as the {FORM_DATA} parameter, not both", "form")
    body["parameters"] = [*parameters, form_parameter(form)]
    return body
