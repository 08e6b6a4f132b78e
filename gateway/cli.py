"""The ``hookgate`` command: serve, sandbox, schema, check.

A user's mistake (a bad configuration key, an unreachable port) ends with a one-line message and exit code 2,
never a traceback.

This is the only module that reads the environment (besides the settings themselves): ``serve`` hands its options to
its worker processes through it, and :func:`worker_app` (uvicorn's factory) reads them back.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gateway.config import ConfigError, Settings, load_settings, with_sandbox_sources

if TYPE_CHECKING:
    from starlette.types import ASGIApp

#: Set by ``serve --workers N`` (N > 1) before the workers start: each writes its metrics samples there.
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Where ``serve`` tells its workers the sandbox it started listens.
SANDBOX_URL_ENV = "HOOKGATE_SANDBOX_URL"

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Hookgate: one GraphQL API over webhook backends.")

ConfigOption = Annotated[
    str | None, typer.Option("--config", "-c", help="TOML configuration file (default: $HOOKGATE_CONFIG).")
]


#: What ``--log-level`` (``HOOKGATE_LOG_LEVEL``) accepts, and ``--log-format`` (``HOOKGATE_LOG_FORMAT``).
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("json", "console", "auto")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"hookgate {version('hookgate')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Hookgate: one GraphQL API over webhook backends."""


def _fail(message: str) -> NoReturn:
    """A user's mistake: one line on stderr, exit code 2."""
    typer.echo(f"hookgate: {message}", err=True)
    raise typer.Exit(2)


def _one_of(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value.lower() not in allowed:
        _fail(f"{option} must be one of {', '.join(allowed)} (not {value!r})")
    return None if value is None else value.lower()


def _check_port(host: str, port: int, what: str) -> None:
    """Fail with one line if ``host:port`` cannot be listened on (in use, or not an address of this machine).

    Bound and released at once: the server binds it again right after, as uvicorn does (with SO_REUSEADDR, so a
    port in TIME_WAIT is no obstacle)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        _fail(f"cannot listen on {host}:{port} for {what}: {reason.lower()}")


def _load(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"hookgate: configuration error\n{exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    sandbox_port: Annotated[int, typer.Option(help="Port of the embedded sandbox (no sources configured).")] = 8100,
    log_format: Annotated[
        str | None, typer.Option(envvar="HOOKGATE_LOG_FORMAT", help="json, console, or auto (JSON unless a terminal).")
    ] = None,
    log_level: Annotated[str | None, typer.Option(envvar="HOOKGATE_LOG_LEVEL", help="debug, info, warning...")] = None,
    ws_compression: Annotated[
        bool,
        typer.Option(
            "--ws-compression/--no-ws-compression",
            help="Offer permessage-deflate on WebSockets (off: small frames gain little and cost CPU per frame).",
        ),
    ] = False,
) -> None:
    """Serve the gateway. With no sources configured, start the sandbox and point one source of each kind at it."""
    from gateway.server import ServerConfig
    from gateway.server import serve as serve_gateway

    log_format = _one_of("--log-format", log_format, LOG_FORMATS)
    log_level = _one_of("--log-level", log_level, LOG_LEVELS)
    settings = _load(config)
    _check_port(host if settings.api_keys else _loopback(host), port, "the gateway")
    if config:
        os.environ["HOOKGATE_CONFIG"] = config
    # Through the environment, so that worker processes (which build the app themselves) log the same way.
    if log_format:
        os.environ["HOOKGATE_LOG_FORMAT"] = log_format
    if log_level:
        os.environ["HOOKGATE_LOG_LEVEL"] = log_level
    sandbox = None
    if not settings.sources:
        from sandbox.app import create_sandbox_app
        from sandbox.server import ThreadedServer

        _check_port("127.0.0.1", sandbox_port, "the sandbox (--sandbox-port)")
        try:
            sandbox = ThreadedServer(create_sandbox_app(), port=sandbox_port).start()
        except (RuntimeError, OSError) as exc:
            typer.echo(f"hookgate: cannot start the sandbox on port {sandbox_port}: {exc}", err=True)
            raise typer.Exit(2) from None
        os.environ[SANDBOX_URL_ENV] = sandbox.url
        settings = with_sandbox_sources(settings, sandbox.url)
        typer.echo(f"No sources configured: serving the sandbox at {sandbox.url} (one source of each kind).")
    if not settings.api_keys and host != _loopback(host):
        typer.echo("hookgate: no API keys configured, so the gateway listens on 127.0.0.1 only.", err=True)
        host = "127.0.0.1"
    typer.echo(f"GraphiQL: http://{host}:{port}/graphql" if not settings.production else f"Serving on {host}:{port}")
    # After the sandbox's server has set up uvicorn's own handlers: this takes them over.
    configure_logging_from_env()
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROCESS_DIR_ENV):
        # Each worker writes its metrics there and /metrics adds them up, whichever worker takes the scrape.
        metrics_dir = tempfile.mkdtemp(prefix="hookgate-metrics-")
        os.environ[MULTIPROCESS_DIR_ENV] = metrics_dir
    try:
        serve_gateway(
            ServerConfig(
                "gateway.cli:worker_app",
                limits=settings.limits,  # header and body deadlines, header and WebSocket message caps
                factory=True,
                host=host,
                port=port,
                workers=workers,
                loop="uvloop" if sys.platform != "win32" else "asyncio",
                log_config=None,  # logging is configured above (JSON lines, request ids, redaction), not by uvicorn
                log_level=os.environ.get("HOOKGATE_LOG_LEVEL", "info").lower(),
                access_log=False,  # gateway/observability/access.py writes one access line per request, with its id
                # Subscription frames are small JSON sent to many sockets: deflating each one costs about a quarter
                # of the fan-out to thousands of subscribers and saves little. Off by default, as in Node's `ws`.
                ws_per_message_deflate=ws_compression,
            )
        )
    finally:
        if sandbox is not None:
            sandbox.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
) -> None:
    """Serve only the provider simulators (/uipath, /workflowgen, /druid, /dixa, /auco, /_control)."""
    import uvicorn

    from sandbox.app import create_sandbox_app

    _check_port(host, port, "the sandbox")
    typer.echo(f"Sandbox: http://{host}:{port} (control: /_control/faults, /_control/calls)")
    uvicorn.run(create_sandbox_app(), host=host, port=port, log_level="info", access_log=False)


@app.command()
def schema() -> None:
    """Print the schema's SDL."""
    from schema.schema import print_sdl

    sys.stdout.write(print_sdl())


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the configuration and probe every source: one line each; exit 1 if any fails."""
    settings = _load(config)
    if not settings.sources:
        typer.echo("No sources configured: `hookgate serve` would run the sandbox. Nothing to probe.")
        return
    failed = asyncio.run(_check(settings))
    raise typer.Exit(1 if failed else 0)


async def _check(settings: Settings) -> bool:
    from gateway.runtime import open_runtime

    # The probes log through httpx like the server does: the runtime installs the same redaction. The sources are
    # probed, not the store: an in-memory one leaves no file behind.
    rows = []
    failed = False
    async with open_runtime(settings.model_copy(update={"store": "sqlite:///:memory:"})) as runtime:
        results = [(adapter, await adapter.probe()) for adapter in runtime.adapters.values()]
    for adapter, result in results:
        name = adapter.name
        ok = result.reachable and result.authenticated
        failed = failed or not ok
        caps = ",".join(sorted(c.value for c in adapter.capabilities))
        rows.append(
            (
                name,
                adapter.kind,
                "ok" if ok else "FAIL",
                "yes" if result.reachable else "no",
                "not found at this path" if result.not_found else "yes" if result.authenticated else "no",
                caps,
                result.detail,
            )
        )
    header = ("SOURCE", "KIND", "STATUS", "REACHABLE", "AUTHENTICATED", "CAPABILITIES", "DETAIL")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return failed


def _loopback(host: str) -> str:
    """``host`` if it is a loopback name, else 127.0.0.1 (where ``serve`` listens with no API key configured)."""
    return host if host in ("127.0.0.1", "localhost", "::1") else "127.0.0.1"


def configure_logging_from_env() -> None:
    """``HOOKGATE_LOG_FORMAT`` (``json``, ``console``, ``auto``: JSON unless stderr is a terminal) and
    ``HOOKGATE_LOG_LEVEL`` (default ``INFO``). ``serve`` sets both from its options, for its workers too."""
    from gateway.observability.logs import configure_logging, json_unless_terminal

    fmt = os.environ.get("HOOKGATE_LOG_FORMAT", "auto")
    configure_logging(json=json_unless_terminal(fmt), level=os.environ.get("HOOKGATE_LOG_LEVEL", "INFO"))


def worker_app() -> ASGIApp:
    """uvicorn's ``--factory`` entry for ``serve``'s workers: settings from ``HOOKGATE_CONFIG`` and the environment,
    the sandbox ``serve`` started, its logging options and its multi-process metrics directory."""
    from gateway.app import create_app, tune_gc_for_serving
    from gateway.config import load_settings

    configure_logging_from_env()
    settings = load_settings()
    sandbox_url = os.environ.get(SANDBOX_URL_ENV)
    if not settings.sources and sandbox_url:
        settings = with_sandbox_sources(settings, sandbox_url)
    app = create_app(settings, metrics_dir=os.environ.get(MULTIPROCESS_DIR_ENV) or None)
    tune_gc_for_serving()
    return app


def main() -> None:
    app()
