"""Fixtures for what a person meets: a real headless Chromium, a place for screenshots, captured JSON log lines."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.observability.logs import configure_logging

#: Screenshots and other files a person may want to look at after a run; git-ignored.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Playwright's own browser downloads cannot
#: be had here, so the test drives this one.
CHROMIUM = os.environ.get("HOOKGATE_TEST_CHROMIUM", "/usr/bin/chromium")

#: As the machine's notes advise: without the background-networking flags Chromium keeps calling out to a closed
#: network; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    """In CI a missing browser is a failure (the test would otherwise vanish); on a laptop, a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright, for one test.

    Not for longer: Playwright's sync API marks an event loop as running in this thread while it lives, and the
    asyncio tests after it would then fail with "Cannot run the event loop while another loop is running".
    """
    executable = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
    if not executable:
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install playwright (its bundled driver, not its browsers)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class LogCapture:
    """The JSON lines the gateway logged while the fixture was active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.text.splitlines() if line.startswith("{")]


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Route every log record through Hookgate's JSON configuration into a buffer; back to stderr afterwards."""
    capture = LogCapture()
    configure_logging(json=True, level="INFO", stream=capture.stream)
    try:
        yield capture
    finally:
        configure_logging(json=True, level="INFO")
