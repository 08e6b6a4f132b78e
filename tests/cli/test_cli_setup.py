"""What a newcomer meets setting Hookgate up, through the real ``hookgate`` command: a busy port or an unknown log
level is one line and exit code 2 (never a traceback), ``--version``, ``check`` telling a wrong ``base_url`` (404)
from a wrong credential, and a README whose sandbox configuration is complete."""

from __future__ import annotations

import re
import socket
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import typer

from gateway.cli import app
from gateway.config import Settings, sandbox_sources
from tests.cli.test_cli import ROOT, hookgate, write
from tests.support.sandbox import Sandbox

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def _one_line_exit_2(result: object, *expected: str) -> None:
    returncode, stderr = result.returncode, result.stderr  # type: ignore[attr-defined]
    assert returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    assert "╭" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_a_busy_sandbox_port_is_one_line_and_exit_2(busy_port: int) -> None:
    _one_line_exit_2(hookgate("sandbox", "--port", str(busy_port)), f"127.0.0.1:{busy_port}", "in use")


def test_a_busy_embedded_sandbox_port_is_one_line_and_exit_2(busy_port: int) -> None:
    result = hookgate("serve", "--port", "0", "--sandbox-port", str(busy_port))
    _one_line_exit_2(result, f"127.0.0.1:{busy_port}", "--sandbox-port", "in use")


def test_a_busy_gateway_port_is_one_line_and_exit_2(busy_port: int) -> None:
    result = hookgate("serve", "--port", str(busy_port), "--sandbox-port", "0")
    _one_line_exit_2(result, f"127.0.0.1:{busy_port}", "gateway", "in use")


def test_an_unknown_log_level_names_the_allowed_ones(busy_port: int) -> None:
    result = hookgate("serve", "--log-level", "verbose", "--port", "0", "--sandbox-port", "0")
    _one_line_exit_2(result, "--log-level", "verbose", "debug, info, warning, error, critical")
    from_env = hookgate("serve", "--port", "0", env={"HOOKGATE_LOG_LEVEL": "loud"})
    _one_line_exit_2(from_env, "--log-level", "loud")


def test_version_prints_the_installed_version() -> None:
    result = hookgate("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"hookgate {version('hookgate')}"


def _readme_sandbox_config() -> str:
    [block] = [b for b in re.findall(r"```toml\n(.*?)```", README, re.S) if "sandbox-uipath-token" in b]
    return block


def test_the_readme_sandbox_configuration_is_what_serve_configures_itself() -> None:
    """Webhook secrets included: a config written from the README accepts the simulators' signed deliveries."""
    block = _readme_sandbox_config()
    settings = Settings(**tomllib.loads(block))
    expected = Settings.model_validate({"sources": sandbox_sources("http://127.0.0.1:8100")})
    assert set(settings.sources) == set(expected.sources)
    for name, source in expected.sources.items():
        mine = settings.sources[name].model_dump(exclude={"sandbox"})
        assert mine == source.model_dump(exclude={"sandbox"}), name
    assert 'webhook_secret = "sandbox-uipath-secret"' in block
    assert 'webhook_secret_key = "73616e64626f78"' in block
    assert settings.webhooks.allow_private_urls


def test_the_readme_command_table_names_every_serve_option() -> None:
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    options = {name for param in serve.params for name in param.opts if name.startswith("--")} - {"--help"}
    [row] = [line for line in README.splitlines() if line.startswith("| `hookgate serve")]
    assert "--sandbox-port" in options
    assert {option for option in options if option not in row} == set()
    assert "`hookgate --version`" in README


@pytest.mark.parametrize("kind", ["uipath", "workflowgen", "druid", "dixa", "auco"])
def test_check_says_not_found_at_this_path_for_a_wrong_base_url(sandbox: Sandbox, tmp_path: Path, kind: str) -> None:
    """The host answers, the path is wrong (a 404): not a credentials problem."""
    source = sandbox_sources(sandbox.url)[kind]
    source["base_url"] = f"{sandbox.url}/{kind}/wrong/prefix"
    if kind == "druid":
        source["endpoints_url"] = source["base_url"]
    lines = [f"[sources.{kind}]"] + [f"{key} = {_toml(value)}" for key, value in source.items()]
    result = hookgate("check", "--config", write(tmp_path, "\n".join(lines) + "\n"))
    assert result.returncode == 1, result.stdout + result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith(kind)]
    assert "not found at this path" in row, result.stdout
    assert " FAIL " in row


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"'
