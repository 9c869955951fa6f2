"""Serving copilots remotely: Streamable HTTP at /mcp with bearer authentication and safe defaults.

- Bearer tokens from CAP_MCP_HTTP_TOKEN (`token` or `name:token`, comma-separated), compared in
  constant time, or any `TokenVerifier` (CAP_MCP_TOKEN_VERIFIER=module:factory) for an identity provider.
  The caller's identity is bound into confirmations and written in audit lines.
- DNS-rebinding and Origin protection on by default; allowed hosts and origins are configurable.
- Binding a non-loopback address without authentication refuses to start unless explicitly allowed.
- /healthz, /metrics (Prometheus, access rule in `metrics`), a request-body limit, per-caller
  concurrency (in the server), graceful shutdown.
- Connections that send nothing, or never finish their request headers, are closed after
  HEADER_TIMEOUT seconds; idle keep-alive connections after KEEP_ALIVE_TIMEOUT; request heads larger
  than MAX_HEAD_BYTES are refused. So half-sent connections cannot pile up.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import logging
import re

import uvicorn
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .config import ConfigError, Settings
from .runtime import Runtime
from .server import build_server

log = logging.getLogger("cap_mcp.http")

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_REQUEST_BYTES = 1 * 1024 * 1024
HEADER_TIMEOUT = 10.0  # seconds from connecting (or from the end of the last answer) to a complete request head
KEEP_ALIVE_TIMEOUT = 15  # seconds an idle keep-alive connection stays open
MAX_HEAD_BYTES = 32 * 1024  # request line and headers (bearer tokens, Mcp-Param-* headers) fit with room
_NAMED = re.compile(r"^([A-Za-z0-9_.-]{1,40}):(.+)$")


class StaticTokenVerifier:
    """Accepts the operator's configured bearer tokens; each maps to a caller name."""

    def __init__(self, tokens: list[str]) -> None:
        self._callers: list[tuple[bytes, str]] = []
        for index, item in enumerate(tokens, start=1):
            match = _NAMED.match(item)
            name, secret = (match.group(1), match.group(2)) if match else (f"token-{index}", item)
            self._callers.append((hashlib.sha256(secret.encode()).digest(), name))

    def __repr__(self) -> str:
        return f"StaticTokenVerifier(callers={self.names})"

    @property
    def names(self) -> list[str]:
        return [name for _, name in self._callers]

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for expected, name in self._callers:  # no early exit: the time taken does not depend on which matched
            if hmac.compare_digest(digest, expected):
                found = name
        if found is None:
            return None
        return AccessToken(token="redacted", client_id=found, scopes=[], subject=found)


def load_token_verifier(spec: str) -> TokenVerifier:
    """`package.module:factory` — a callable returning a TokenVerifier (for an external identity provider)."""
    module_name, _, attribute = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"CAP_MCP_TOKEN_VERIFIER: cannot load {spec!r} ({exc})") from None
    verifier: TokenVerifier = factory()
    return verifier


def security_settings(settings: Settings, host: str) -> TransportSecuritySettings:
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", *settings.allowed_hosts]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *settings.allowed_origins]
    if host not in LOOPBACK and host not in ("0.0.0.0", "::"):
        hosts.append(f"{host}:*")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def build_http_app(
    runtime: Runtime,
    *,
    host: str = "127.0.0.1",
    stateless: bool = False,
    token_verifier: TokenVerifier | None = None,
    allow_unauthenticated_remote: bool = False,
) -> Starlette:
    settings = runtime.settings
    if token_verifier is None and settings.token_verifier:
        token_verifier = load_token_verifier(settings.token_verifier)
    if token_verifier is None and settings.http_tokens():
        token_verifier = StaticTokenVerifier(settings.http_tokens())
    if token_verifier is None and host not in LOOPBACK:
        if not allow_unauthenticated_remote:
            raise ConfigError(
                f"serving on {host} without authentication: set CAP_MCP_HTTP_TOKEN (bearer tokens), or pass "
                "--allow-unauthenticated-remote if something in front of cap-mcp authenticates callers"
            )
        log.warning("SERVING ON %s WITHOUT AUTHENTICATION: anyone who can reach it can use every tool", host)
    if stateless and not settings.state_keys():
        log.warning(
            "--stateless without CAP_MCP_STATE_KEY: confirmations sealed by one replica cannot be opened by "
            "another; set the same CAP_MCP_STATE_KEY (and CAP_MCP_STATE_URL) on every replica"
        )
    if settings.state_url is None and stateless:
        log.warning("--stateless without CAP_MCP_STATE_URL: single use of confirmations is tracked per process")
    server = build_server(runtime)
    from .metrics import PrometheusObserver, metrics_endpoint

    known_tools = [*runtime.catalog.operations, "search_operations", "describe_operation", "call_operation"]
    callers = token_verifier.names if isinstance(token_verifier, StaticTokenVerifier) else []
    metrics = PrometheusObserver(tools=known_tools, callers=callers)
    runtime.observer.add(metrics)
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    serve_metrics = metrics_endpoint(metrics, token=metrics_token, authenticated=token_verifier is not None)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "tools": len(runtime.profile.operations), "stateless": stateless})

    auth = (
        AuthSettings(issuer_url=AnyHttpUrl("https://cap-mcp.invalid"), resource_server_url=None, required_scopes=None)
        if token_verifier is not None
        else None
    )
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=stateless,
        host=host,
        transport_security=security_settings(settings, host),
        max_request_body_size=MAX_REQUEST_BYTES,
        auth=auth,
        token_verifier=token_verifier,
        custom_starlette_routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", serve_metrics, methods=["GET"]),
        ],
    )


def http_config(app: Starlette, *, host: str, port: int, header_timeout: float = HEADER_TIMEOUT) -> uvicorn.Config:
    """uvicorn's settings for cap-mcp: timeouts for slow or half-sent connections, graceful shutdown."""
    from .http_protocol import protocol_with_header_timeout

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_with_header_timeout(header_timeout),
        log_level="warning",
        log_config=None,  # uvicorn's loggers go through cap-mcp's handler (text or JSON)
        lifespan="on",
        timeout_graceful_shutdown=30,  # in-flight calls finish; new connections are refused meanwhile
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )


def serve_http(
    runtime: Runtime, *, host: str, port: int, stateless: bool, allow_unauthenticated_remote: bool = False
) -> int:
    app = build_http_app(runtime, host=host, stateless=stateless,
                         allow_unauthenticated_remote=allow_unauthenticated_remote)  # fmt: skip
    log.info("cap-mcp serving Streamable HTTP on http://%s:%s/mcp (%s), metrics at /metrics", host, port,
             "stateless" if stateless else "stateful")  # fmt: skip
    uvicorn.Server(http_config(app, host=host, port=port)).run()
    return 0
