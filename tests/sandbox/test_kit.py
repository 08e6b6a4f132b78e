"""The simulators share one kit, keep their modules small, and the UiPath OData parser stands on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.app import SIMULATORS
from sandbox.control import Control
from sandbox.kit import SimulatorState
from sandbox.uipath import odata
from sandbox.uipath.model import ODataError

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
MAX_LINES = 600


def test_no_sandbox_module_is_over_600_lines() -> None:
    sizes = {str(path.relative_to(SANDBOX)): len(path.read_text().splitlines()) for path in SANDBOX.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}


@pytest.mark.parametrize("target", list(SIMULATORS))
def test_each_simulator_keeps_a_kit_state_that_control_resets_and_listeners_survive(target: str) -> None:
    control = Control()
    app = SIMULATORS[target].create_app(control)
    state = getattr(app.state, target)
    assert isinstance(state, SimulatorState)
    heard: list[tuple[str, dict[str, object]]] = []
    state.subscribe(lambda event, data: heard.append((event, data)))
    control.reset()
    assert len(state.listeners) == 1  # wiring, not state: a reset keeps it
    state.emit("probe", n=1)
    assert heard == [("probe", {"n": 1})]


DTOS = [
    {"Id": 4, "Url": "http://a.example/x", "Enabled": True, "Secret": None},
    {"Id": 10, "Url": "https://b.example/y", "Enabled": False, "Secret": "s"},
    {"Id": 11, "Url": "https://c.example/z", "Enabled": True, "Secret": "t"},
]


def test_odata_query_filters_orders_pages_and_links_without_http() -> None:
    query = odata.parse_query([("$filter", "Enabled eq true or Id eq 10"), ("$orderby", "Id desc"), ("$top", "3")])
    page = odata.apply(query, list(DTOS), page_size=2)
    assert [dto["Id"] for dto in page.items] == [11, 10]
    assert page.total == 3
    assert page.next_query == "$filter=Enabled%20eq%20true%20or%20Id%20eq%2010&$orderby=Id%20desc&$top=1&$skip=2"
    last = odata.apply(odata.parse_query([("$skip", "2"), ("$select", "Id")]), list(DTOS), page_size=2)
    assert (last.items, last.next_query) == ([{"Id": 11}], None)


@pytest.mark.parametrize(
    "params",
    [[("$filter", "Enabled eq")], [("$top", "-1")], [("$orderby", "Nope")], [("$unknown", "1")]],
)
def test_odata_refusals_are_400_with_error_code_1000(params: list[tuple[str, str]]) -> None:
    with pytest.raises(ODataError) as caught:
        odata.parse_query(params)
    assert (caught.value.status, caught.value.body()["errorCode"]) == (400, 1000)
