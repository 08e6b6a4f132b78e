"""``python -m bench.attack --quick`` against the gateway it serves: every attack of the hardening review is held.

The script starts the sandbox and ``hookgate serve`` (and a second gateway over Redis, cut by a TCP forwarder) in
processes of their own on loopback, replays each attack once, seeded, with bounded counts and waits, and prints one
line per attack. Each attack is one test case here, so that a regression names its attack.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.attack import ATTACKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def attack_run() -> tuple[int, dict[str, str], str]:
    redis = os.environ.get("HOOKGATE_TEST_REDIS", "redis://127.0.0.1:6379/15")
    run = subprocess.run(
        [sys.executable, "-m", "bench.attack", "--quick", "--seed", "7", "--redis", redis],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = {}
    for line in run.stdout.splitlines():
        if line.strip() and not line.startswith("#"):
            lines[line.split()[1]] = line
    return run.returncode, lines, run.stdout + run.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, _, _ in ATTACKS])
def test_attack_is_held(attack_run: tuple[int, dict[str, str], str], name: str) -> None:
    _, lines, output = attack_run
    assert name in lines, f"no line for {name}:\n{output}"
    line = lines[name]
    needs_redis = name in ("readyz-store-cut", "signed-delivery-nested-300-redis")
    if line.startswith("SKIP") and needs_redis and os.environ.get("HOOKGATE_REQUIRE_REDIS") != "1":
        pytest.skip(line)
    assert line.startswith("PASS"), line


@pytest.mark.slow
def test_exit_code_says_whether_an_attack_worked(attack_run: tuple[int, dict[str, str], str]) -> None:
    code, lines, output = attack_run
    assert len(lines) == len(ATTACKS), output
    worked = [line for line in lines.values() if line.startswith("FAIL")]
    assert code == (1 if worked else 0), output
