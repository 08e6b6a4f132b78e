"""Webhook targets on loopback, link-local, private or unique-local addresses, or not http(s), are refused before
any upstream call unless ``[webhooks] allow_private_urls = true``; DNS names are not resolved."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import Settings, with_sandbox_sources
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error
from tests.support.sandbox import Sandbox

CREATE = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id url } } }"
UPDATE = "mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { id url } } }"

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://10.0.0.5/hook",
    "http://172.16.1.1/hook",
    "http://192.168.0.10/hook",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://0.0.0.0:8000/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0177.0.0.1/",  # octal
    "http://0x7f.1/",  # hex, short form
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/",  # 169.254.169.254, mapped, in hex
    "http://%31%32%37.0.0.1/",  # percent-encoded
    "http://127.0.0.1./",  # trailing dot
    "http://localhost:8000/hooks",
    "http://example.com\\@127.0.0.1/",  # a backslash: another host for WHATWG parsers than for urlsplit
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://example.com:70/",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_a_private_or_non_http_target_is_refused_and_nothing_is_sent(
    shared_gateway: Gateway, sandbox: Sandbox, url: str
) -> None:
    sandbox.clear_calls()
    for source in ("uipath", "dixa"):
        error = only_error(await gql(shared_gateway, CREATE, {"input": {"source": source, "url": url, "name": "n"}}))
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "url"), error
    assert sandbox.total_calls("uipath") == 0
    assert sandbox.total_calls("dixa") == 0


async def test_update_refuses_a_private_target_too(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    created = data(await gql(shared_gateway, CREATE, {"input": {"source": "uipath", "url": "https://example.com/a"}}))
    hook = created["createWebhook"]["webhook"]["id"]
    sandbox.clear_calls()
    error = only_error(await gql(shared_gateway, UPDATE, {"input": {"id": hook, "url": "http://169.254.169.254/"}}))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "url")
    assert sandbox.total_calls("uipath") == 0


async def test_public_addresses_and_names_are_accepted_unresolved(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    # A name is never resolved: one that points at a private address is the provider's resolver's business.
    for url in ("https://hooks.example.com/x", "http://93.184.216.34:8080/x", "http://10.0.0.5.example.com/"):
        created = data(await gql(shared_gateway, CREATE, {"input": {"source": "uipath", "url": url}}))
        assert created["createWebhook"]["webhook"]["url"] == url


async def test_allow_private_urls_accepts_them(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(webhooks={"allow_private_urls": True})
    created = data(await gql(gateway, CREATE, {"input": {"source": "uipath", "url": "http://127.0.0.1:8000/h"}}))
    assert created["createWebhook"]["webhook"]["url"] == "http://127.0.0.1:8000/h"
    # Still http(s) only.
    error = only_error(await gql(gateway, CREATE, {"input": {"source": "uipath", "url": "ftp://127.0.0.1/"}}))
    assert error["extensions"]["field"] == "url"


def test_the_sandbox_mode_allows_private_urls_unless_configured() -> None:
    # The simulators deliver only to loopback targets (the gateway beside them), as docs/events.md's tour does.
    assert with_sandbox_sources(Settings(), "http://127.0.0.1:8100").webhooks.allow_private_urls
    explicit = Settings.model_validate({"webhooks": {"allow_private_urls": False}})
    assert not with_sandbox_sources(explicit, "http://127.0.0.1:8100").webhooks.allow_private_urls
    assert not Settings().webhooks.allow_private_urls
