"""What a person meets: Debian's Chromium for the browser test, a place for screenshots, captured JSON log lines."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

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


def unavailable(reason: str) -> None:
    """In CI a missing browser is a failure (the test would otherwise vanish); on a laptop, a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


class LogCapture:
    """The JSON lines the gateway logged while the fixture was active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def request_lines(self, request_id: str, *, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Every line of one request, once its access line is written. A served gateway writes that line after the
        response has left, so a client can hold the response before the line exists: wait for it (bounded)."""
        deadline = time.monotonic() + timeout_s
        while True:
            lines = [line for line in self.lines() if line.get("request_id") == request_id]
            if any(line.get("logger") == "hookgate.access" for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.01)
