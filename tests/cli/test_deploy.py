"""The Dockerfile, docker-compose.yml and deploy/nginx.conf say what a container needs (no Docker daemon required).

The image runs as a non-root user that can write only to /data, so the default SQLite store must land there; it
is ready (``/readyz``), not merely alive, when its healthcheck passes; and the proxy in front of the replicas passes on
what the client asked for (Host, the forwarded headers, WebSocket upgrades).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml

from gateway.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _words(arguments: str) -> list[str]:
    """Exec form (a JSON list) or shell form, as words."""
    return list(json.loads(arguments)) if arguments.startswith("[") else shlex.split(arguments)


def _last(keyword: str) -> str:
    values = [rest for kw, rest in _instructions() if kw == keyword]
    assert values, f"the Dockerfile has no {keyword}"
    return values[-1]


def test_the_default_sqlite_store_is_in_a_volume_the_image_user_owns() -> None:
    default_store = Settings.model_fields["store"].default
    assert default_store.startswith("sqlite:///")
    # A relative store path is relative to the working directory the process starts in: the last WORKDIR.
    database = posixpath.join(_last("WORKDIR"), default_store.removeprefix("sqlite:///"))
    volumes = [v for kw, rest in _instructions() if kw == "VOLUME" for v in _words(rest)]
    (data,) = [v for v in volumes if database.startswith(v.rstrip("/") + "/")]
    # Created and handed to the image's user before VOLUME (later changes to a volume's directory are discarded).
    runs = [(i, rest) for i, (kw, rest) in enumerate(_instructions()) if kw == "RUN"]
    volume_at = next(i for i, (kw, rest) in enumerate(_instructions()) if kw == "VOLUME")
    user = _last("USER").split(":")[0]
    assert user not in ("root", "0")
    assert any(i < volume_at and re.search(rf"chown\s+\S+\s+{re.escape(data)}\b", rest) for i, rest in runs)
    # Numeric, so that a runtime can check it is not root (Kubernetes' runAsNonRoot), and a user the image creates.
    assert user.isdigit()
    assert any(re.search(rf"useradd\b.*--uid\s+{user}\b", rest) for _, rest in runs)


def test_the_image_sets_no_store_that_would_override_a_mounted_configuration() -> None:
    # HOOKGATE_* variables win over the file: an image default there would replace compose's Redis store.
    for keyword, rest in _instructions():
        if keyword == "ENV":
            assert "HOOKGATE_STORE" not in rest


def test_the_image_copies_what_the_build_reads_and_listens_on_every_interface() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    copied = {word for kw, rest in _instructions() if kw == "COPY" for word in _words(rest)[:-1]}
    assert {project["readme"], *project.get("license-files", []), "requirements.lock"} <= copied
    command = _words(_last("CMD"))
    assert command[:2] == ["hookgate", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_the_healthcheck_asks_for_readiness() -> None:
    healthcheck = _last("HEALTHCHECK")
    assert "http://127.0.0.1:8000/readyz" in healthcheck
    assert "/healthz" not in healthcheck


def _proxy_headers() -> dict[str, str]:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = re.sub(r"#[^\n]*", "", text)
    return {name.lower(): value for name, value in re.findall(r"proxy_set_header\s+(\S+)\s+([^;]+);", text)}


def test_nginx_passes_on_host_forwarded_headers_and_websocket_upgrades() -> None:
    headers = _proxy_headers()
    assert headers.get("host") in ("$host", "$http_host")
    assert headers.get("x-forwarded-for") == "$proxy_add_x_forwarded_for"
    assert headers.get("x-forwarded-proto") == "$scheme"
    assert headers.get("x-forwarded-host") in ("$host", "$http_host")
    assert headers.get("upgrade") == "$http_upgrade"
    assert headers.get("connection") == "$connection_upgrade"
    assert "proxy_http_version 1.1;" in (ROOT / "deploy" / "nginx.conf").read_text()


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_gateways_trust_forwarded_headers_only_behind_the_proxy() -> None:
    services = _compose()["services"]
    gateways = {name: s for name, s in services.items() if "HOOKGATE_CONFIG" in (s.get("environment") or {})}
    assert set(gateways) == {"gateway-1", "gateway-2"}
    upstreams = re.search(r"upstream hookgate \{([^}]*)\}", (ROOT / "deploy" / "nginx.conf").read_text())
    assert upstreams is not None
    assert set(re.findall(r"server\s+([\w.-]+):8000", upstreams.group(1))) == set(gateways)
    for service in gateways.values():
        assert service["environment"].get("FORWARDED_ALLOW_IPS") == "*"
        assert not service.get("ports"), "a gateway that trusts every forwarder must be reachable only via the proxy"
        (mount,) = [v for v in service["volumes"] if v.endswith(f":{service['environment']['HOOKGATE_CONFIG']}:ro")]
        configuration = tomllib.loads((ROOT / mount.split(":")[0]).read_text())
        # Shared state for two replicas: Redis, not each container's own SQLite file in /data.
        assert configuration["store"].startswith("redis://")
