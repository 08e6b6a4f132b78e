"""``hookgate serve --workers 2``: ``/metrics`` answers the sum over the workers, whichever worker takes the scrape."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.server import free_port

ROOT = Path(__file__).resolve().parents[2]
QUERY = {"query": "{ sources { name } }"}  # no upstream call: only the gateway's own work is counted
SERIES = re.compile(r'^hookgate_graphql_requests_total\{[^}]*outcome="ok"[^}]*\} ([0-9.e+]+)$', re.MULTILINE)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the gateway did not start:\n{log.read_text()[-3000:]}")


async def _burst(url: str, n: int) -> int:
    """``n`` queries at once, each on a connection of its own, so that both workers take some."""

    async def one() -> bool:
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(f"{url}/graphql", json=QUERY)
            return answer.status_code == 200 and "errors" not in answer.json()

    return sum(await asyncio.gather(*(one() for _ in range(n))))


def _counted(url: str) -> float:
    scraped = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(float(value) for value in SERIES.findall(scraped))


def _pids(metrics_dir: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}


def test_metrics_add_up_over_the_workers(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "HOOKGATE_STORE": f"sqlite:///{tmp_path}/workers.db"}
    for name in ("PROMETHEUS_MULTIPROC_DIR", "HOOKGATE_CONFIG"):
        env.pop(name, None)
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gateway", "serve", "--workers", "2", "--port", str(port)]
    command += ["--sandbox-port", str(free_port())]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, process, log)
        [metrics_dir] = tmp_path.glob("hookgate-metrics-*")  # made by `serve` for its workers

        answered = 0
        for _ in range(20):
            answered += asyncio.run(_burst(url, 20))
            if len(_pids(metrics_dir)) == 2:
                break
        assert len(_pids(metrics_dir)) == 2, "both workers answered queries"

        # Each scrape lands on either worker; each must count every answered query, not only its own.
        assert [_counted(url) for _ in range(8)] == [float(answered)] * 8
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert not metrics_dir.exists(), "serve removes the metrics folder it made"
