"""Prometheus metrics for `serve --transport http`, served at GET /metrics.

Who may read them:
- CAP_MCP_METRICS_TOKEN set: only a request with `Authorization: Bearer <that token>` (a scraper's own
  credential, which cannot call tools);
- otherwise, when callers authenticate (CAP_MCP_HTTP_TOKEN or CAP_MCP_TOKEN_VERIFIER): any bearer token
  accepted for /mcp;
- otherwise (no authentication at all): only requests from loopback (127.0.0.0/8, ::1).

Label values are bounded and carry no personal data: tool and operation names from the catalogue (any
other name counts as "other"), caller names from CAP_MCP_HTTP_TOKEN ("local" without authentication,
"other" for callers an external verifier named), outcome classes, guard decisions and HTTP statuses.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from . import __version__
from .observe import NullObserver

# Seconds; Capillary answers in tens to hundreds of milliseconds, bulk calls and timeouts take longer.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
METRIC_NAMES = (
    "cap_mcp_tool_calls_total",
    "cap_mcp_tool_call_duration_seconds",
    "cap_mcp_tool_calls_in_flight",
    "cap_mcp_upstream_requests_total",
    "cap_mcp_upstream_request_duration_seconds",
    "cap_mcp_guard_decisions_total",
    "cap_mcp_oauth_renewals_total",
    "cap_mcp_info",
)


class PrometheusObserver(NullObserver):
    """Counts what the server reports into its own registry (one per server, so tests stay independent)."""

    def __init__(self, *, tools: Iterable[str], callers: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self._tools = frozenset(tools)
        self._callers = frozenset(callers)
        registry = self.registry
        ProcessCollector(registry=registry)
        info = Gauge("cap_mcp_info", "cap-mcp version", ["version"], registry=registry)
        info.labels(version=__version__).set(1)
        self.calls = Counter(
            "cap_mcp_tool_calls", "Tool calls by tool, outcome class and caller", ["tool", "outcome", "caller"],
            registry=registry,
        )  # fmt: skip
        self.call_seconds = Histogram(
            "cap_mcp_tool_call_duration_seconds", "Time to answer a tool call, confirmations included",
            ["outcome"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.in_flight_calls = Gauge("cap_mcp_tool_calls_in_flight", "Tool calls being handled", registry=registry)
        self.upstream_requests = Counter(
            "cap_mcp_upstream_requests", "HTTP requests to Capillary by operation and status (an HTTP code, or "
            "timeout / not_sent / no_answer / auth_error)", ["operation", "status"], registry=registry,
        )  # fmt: skip
        self.upstream_seconds = Histogram(
            "cap_mcp_upstream_request_duration_seconds", "Time of one HTTP request to Capillary", ["operation"],
            buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.guards = Counter(
            "cap_mcp_guard_decisions", "Confirmation guard decisions: asked, confirmed, token_used, declined, "
            "refused", ["decision"], registry=registry,
        )  # fmt: skip
        self.renewals = Counter(
            "cap_mcp_oauth_renewals", "OAuth access-token requests by result (ok, refused, unreachable)",
            ["result"], registry=registry,
        )  # fmt: skip

    def _tool(self, name: str) -> str:
        return name if name in self._tools else "other"

    def _caller(self, name: str | None) -> str:
        if name is None:
            return "local"
        return name if name in self._callers else "other"

    def tool_call(
        self, tool: str, outcome: str, caller: str | None, seconds: float, *, request_id: str | None = None
    ) -> None:
        self.calls.labels(tool=self._tool(tool), outcome=outcome, caller=self._caller(caller)).inc()
        self.call_seconds.labels(outcome=outcome).observe(seconds)

    def upstream(self, operation: str, status: int | str, seconds: float) -> None:
        operation = self._tool(operation)
        self.upstream_requests.labels(operation=operation, status=str(status)).inc()
        self.upstream_seconds.labels(operation=operation).observe(seconds)

    def guard(self, decision: str) -> None:
        self.guards.labels(decision=decision).inc()

    def oauth_renewal(self, result: str) -> None:
        self.renewals.labels(result=result).inc()

    def in_flight(self, delta: int) -> None:
        self.in_flight_calls.inc(delta)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_endpoint(
    observer: PrometheusObserver, *, token: str | None, authenticated: bool
) -> Callable[[Request], Awaitable[Response]]:
    """The /metrics handler with its access rule (see the module docstring)."""

    async def metrics(request: Request) -> Response:
        if not _allowed(request, token=token, authenticated=authenticated):
            return PlainTextResponse("metrics: not allowed", status_code=401 if token or authenticated else 403,
                                     headers={"WWW-Authenticate": "Bearer"} if token or authenticated else None)  # fmt: skip
        return Response(observer.exposition(), media_type=CONTENT_TYPE_LATEST)

    return metrics


def _allowed(request: Request, *, token: str | None, authenticated: bool) -> bool:
    if token is not None:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
    if authenticated:
        # The SDK's authentication middleware has checked the bearer token against the callers' tokens.
        return _has_user(request)
    return _loopback(request.client.host if request.client else None)


def _has_user(request: Request) -> bool:
    user = request.scope.get("user")
    return bool(getattr(user, "is_authenticated", False))


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
