"""The web form's dataset as the WorkflowGen adapter writes it (gateway/providers/workflowgen/forms.py): .NET DataSet
XML built with ElementTree, every value escaped, names checked, sent as the FILE parameter FORM_DATA."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.providers.workflowgen.forms import FormError, dataset_xml, form_parameter, with_form

#: Text XML 1.0 carries unchanged: no C0 controls but tab and newline (a parser reads a carriage return as a newline).
XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10)])
).filter(lambda s: "\ufffe" not in s and "\uffff" not in s)


def test_the_dataset_is_one_row_of_the_table_in_new_data_set() -> None:
    xml = dataset_xml("Table1", [{"name": "REQUEST_AMOUNT", "value": "12.5"}, {"name": "NOTE", "value": None}])
    assert xml == (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b"<NewDataSet><Table1><REQUEST_AMOUNT>12.5</REQUEST_AMOUNT></Table1></NewDataSet>"
    )


@given(value=XML_TEXT)
def test_any_value_reads_back_unchanged(value: str) -> None:
    xml = dataset_xml("Table1", [{"name": "F", "value": value}])
    row = ET.fromstring(xml)[0]  # noqa: S314 - our own bytes
    assert (row[0].text or "") == value


def test_markup_in_a_value_stays_text() -> None:
    xml = dataset_xml("Table1", [{"name": "F", "value": "</F><INJECTED>1</INJECTED><F>"}])
    row = ET.fromstring(xml)[0]  # noqa: S314
    assert [child.tag for child in row] == ["F"]
    assert b"<INJECTED>" not in xml


@pytest.mark.parametrize("name", ["1A", "A B", "<A>", "ns:A", "", "A&B"])
def test_a_name_that_is_not_an_xml_name_is_refused(name: str) -> None:
    with pytest.raises(FormError) as raised:
        dataset_xml("Table1", [{"name": "OK", "value": "x"}, {"name": name, "value": "x"}])
    assert raised.value.field == "form.fields[1].name"
    with pytest.raises(FormError) as raised:
        dataset_xml(name, [])
    assert raised.value.field == "form.table"


def test_the_form_goes_as_the_form_data_file_after_the_callers_parameters() -> None:
    body = with_form(
        {"requestNumber": 1, "parameters": [{"name": "A", "textValue": "x"}], "form": {"table": "T", "fields": []}}
    )
    assert "form" not in body
    first, form_data = body["parameters"]
    assert first == {"name": "A", "textValue": "x"}
    assert form_data == form_parameter({"table": "T", "fields": []})
    file_value = form_data["fileValue"]
    content = base64.b64decode(file_value["content"])
    assert (form_data["name"], file_value["name"], file_value["contentType"]) == (
        "FORM_DATA",
        "FORM_DATA.xml",
        "text/xml",
    )
    assert file_value["size"] == len(content)
    assert ET.fromstring(content)[0].tag == "T"  # noqa: S314
    with pytest.raises(FormError):
        with_form({"parameters": [{"name": "FORM_DATA", "fileValue": {}}], "form": {"fields": []}})
