"""Running the server: stdio, or Streamable HTTP (see `http_app`)."""

from __future__ import annotations

import logging

import anyio

from .config import Settings
from .runtime import build_runtime
from .server import build_server

log = logging.getLogger("cap_mcp")


def serve(
    settings: Settings,
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    stateless: bool = False,
    allow_unauthenticated_remote: bool = False,
) -> int:
    runtime = build_runtime(settings)
    if transport == "http":
        from .http_app import serve_http

        return serve_http(
            runtime,
            host=host,
            port=port,
            stateless=stateless,
            allow_unauthenticated_remote=allow_unauthenticated_remote,
        )
    anyio.run(_serve_stdio, runtime)
    return 0


async def _serve_stdio(runtime: object) -> None:
    from .runtime import Runtime
    from .stdio import serve_stdio

    assert isinstance(runtime, Runtime)
    server = build_server(runtime)
    try:
        await serve_stdio(server)
    finally:
        await runtime.aclose()
