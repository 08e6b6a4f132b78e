"""The ``hookgate`` command: configuration errors are one clear message and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def hookgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hookgate.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def sandbox_toml(url: str) -> str:
    return f"""
[sources.orchestrator]
kind = "uipath"
base_url = "{url}/uipath"
token = "sandbox-uipath-token"

[sources.support]
kind = "dixa"
base_url = "{url}/dixa"
api_key = "env:TEST_DIXA_KEY"

[sources.signatures]
kind = "auco"
base_url = "{url}/auco/v1.5/ext"
private_key = "prk_sandbox"
public_key = "puk_sandbox"
"""


def test_check_probes_every_source_and_prints_one_line_each(sandbox: Sandbox, tmp_path: Path) -> None:
    result = hookgate(
        "check", "--config", write(tmp_path, sandbox_toml(sandbox.url)), env={"TEST_DIXA_KEY": "sandbox-dixa-key"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["SOURCE", "KIND", "STATUS"]
    assert {line.split()[0]: line.split()[2] for line in lines[1:]} == {
        "orchestrator": "ok",
        "support": "ok",
        "signatures": "ok",
    }


def test_check_exits_1_when_a_source_fails_and_never_prints_the_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    result = hookgate(
        "check", "--config", write(tmp_path, sandbox_toml(sandbox.url)), env={"TEST_DIXA_KEY": "wrong-key-canary-7731"}
    )
    assert result.returncode == 1
    support = next(line for line in result.stdout.splitlines() if line.startswith("support"))
    assert "FAIL" in support
    assert "canary-7731" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[sources.u]\nkind = "uipath"\nbase_url = "ftp://x"\ntoken = "t"\n', "sources.u.base_url: must be"),
        ('[sources.u]\nkind = "uipath"\nbase_url = "http://x"\n', "sources.u: set either token"),
        ('[sources.u]\nkind = "nope"\nbase_url = "http://x"\n', "sources.u"),
        ('[sources.d]\nkind = "dixa"\nbase_url = "http://x"\napi_key = "env:HOOKGATE_TEST_UNSET_VAR"\n',
         "sources.d.api_key: environment variable HOOKGATE_TEST_UNSET_VAR is not set"),
        ('[limits]\nmax_depth = 0\n', "limits.max_depth"),
        ("store = [", "not valid TOML"),
        ('surprise = 1\n', "surprise: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_configuration_names_the_key_and_exits_2_without_traceback(
    tmp_path: Path, toml: str, expected: str
) -> None:
    result = hookgate("check", "--config", write(tmp_path, toml))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_configuration_file_is_a_clear_error(tmp_path: Path) -> None:
    result = hookgate("check", "--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_values_never_appear_in_configuration_errors(tmp_path: Path) -> None:
    toml = '[sources.u]\nkind = "uipath"\nbase_url = "ftp://x"\ntoken = "tok-canary-5521"\n'
    result = hookgate("check", "--config", write(tmp_path, toml))
    assert result.returncode == 2
    assert "canary-5521" not in result.stderr + result.stdout


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    from gateway.config import load_settings

    path = write(tmp_path, 'store = "sqlite:///from-file.db"\n')
    import os

    os.environ["HOOKGATE_STORE"] = "sqlite:///from-env.db"
    try:
        assert load_settings(path).store == "sqlite:///from-env.db"
    finally:
        del os.environ["HOOKGATE_STORE"]
