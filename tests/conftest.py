"""The suite's fixtures live in :mod:`tests.support.fixtures` (helpers beside them in :mod:`tests.support`)."""

import pytest

# The helpers assert too (``data(result)``, ``only_error(result)``): rewritten as a conftest's asserts were.
pytest.register_assert_rewrite("tests.support")

from tests.support.fixtures import (  # noqa: E402, F401
    any_gateway,
    artifacts,
    asgi_gateway,
    chromium,
    gateway,
    gateway_factory,
    gateway_in_process,
    json_logs,
    make_adapter,
    module_gateway,
    open_instance,
    redis_prefix,
    redis_url,
    run,
    runtime,
    sandbox,
    sandbox_server,
    servers,
    services,
    settings,
    shared_gateway,
    store,
    store_kind,
)
