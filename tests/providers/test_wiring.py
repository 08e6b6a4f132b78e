"""The kit's factory hands the runtime's upstream observer and write hook to each source's client as it is built: every
kind's client reports its very first call, with nothing set on the adapter afterwards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.config import sandbox_sources
from gateway.providers.registry import KITS, build_adapter, kit_of

if TYPE_CHECKING:
    from tests.support.sandbox import Sandbox


class Recorder:
    """An upstream observer that keeps what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    def upstream_call(self, source: str, provider: str, method: str, outcome: str, seconds: float) -> None:
        self.calls.append((source, provider, method, outcome))


@pytest.mark.parametrize("kind", list(KITS))
async def test_the_factory_gives_each_client_its_observer_and_write_hook(kind: str, sandbox: Sandbox) -> None:
    config = kit_of(kind).config.model_validate(sandbox_sources(sandbox.url)[kind])
    observer, writes = Recorder(), list[str]()
    adapter = build_adapter(f"{kind}-wired", config, observer=observer, on_write=writes.append)
    try:
        assert adapter.http.observer is observer
        assert adapter.http.on_write == writes.append
        result = await adapter.probe()
        assert result.reachable, result.detail
        assert observer.calls, "the first upstream call is observed"
        assert {(source, provider) for source, provider, _, _ in observer.calls} == {(f"{kind}-wired", kind)}
    finally:
        await adapter.aclose()
