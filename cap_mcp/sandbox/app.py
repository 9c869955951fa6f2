"""The sandbox as an ASGI app: Capillary's auth, its envelopes, stateful core domains, and fault injection.

Requests are routed by the catalogue (method and path template). Operations with
a stateful handler change and read the sandbox's state; every other catalogued
operation, after its required arguments are checked, answers with its example.
Control endpoints live under /_sandbox/ (state, faults, reset), loopback only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from ..catalog import Catalog, Operation
from ..request_builder import get_dotted
from . import handlers_v11_customer, handlers_v11_sales  # noqa: F401  (they register the v1.1 handlers)
from .credentials import CLIENT_KEY, CLIENT_SECRET, PASSWORD, USERNAME
from .handlers import HANDLERS
from .state import SandboxRequest, SandboxState

log = logging.getLogger("cap_mcp.sandbox")

TOKEN_PATH = "/v3/oauth/token/generate"

_BUSY = {461: "Search engine is busy. Please try after some time.",
         521: "Multiple actions are running for the same customer. Please try after some time.",
         500: "Requests have failed due to errors.", 503: "Service unavailable."}  # fmt: skip


@dataclass
class Fault:
    """Injected trouble for requests whose path starts with `path` (and method, when given)."""

    path: str
    method: str | None = None
    status: int | None = None  # answer this status instead of processing
    drop: bool = False  # process, then drop the connection without answering
    latency: float = 0.0
    times: int | None = None  # how many requests it applies to (None: all)

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (self.method is None or self.method == method) and self.times != 0


@dataclass
class Faults:
    latency: float = 0.0
    rules: list[Fault] = field(default_factory=list)

    def take(self, method: str, path: str) -> Fault | None:
        for rule in self.rules:
            if rule.matches(method, path):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None


class _Dropped(Exception):
    """Raised after a processed request to drop the connection without an answer."""


@dataclass(frozen=True)
class _Route:
    op: Operation
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    literal: int


def _routes(catalog: Catalog) -> list[_Route]:
    routes = []
    for op in catalog:
        names: list[str] = []

        def group(match: re.Match[str], names: list[str] = names) -> str:
            names.append(match.group(1))
            return "([^/]+)"

        pattern = re.sub(r"\\\{([^{}]+)\\\}", group, re.escape(op.path))
        literal = len([seg for seg in op.path.split("/") if seg and "{" not in seg])
        routes.append(_Route(op, re.compile(f"^{pattern}/?$"), tuple(names), literal))
    # Most literal segments first: /v2/customers/lookup beats /v2/customers/{customerId}.
    routes.sort(key=lambda r: (-r.literal, r.op.name))
    return routes


class SandboxApp:
    """ASGI application simulating Capillary. One instance keeps one consistent state."""

    def __init__(self, catalog: Catalog, *, token_ttl: float = 3600.0, faults: Faults | None = None) -> None:
        self.catalog = catalog
        self.state = SandboxState()
        self.token_ttl = token_ttl
        self.faults = faults or Faults()
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self._routes = _routes(catalog)
        self._basic = (
            "Basic " + base64.b64encode(f"{USERNAME}:{hashlib.md5(PASSWORD.encode()).hexdigest()}".encode()).decode()
        )

    def reset(self) -> None:
        self.state = SandboxState()
        self.tokens.clear()
        self.faults = Faults()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            status, body = await self._handle(request)
        except _Dropped:
            # Start an answer, then break it off: the caller cannot know what happened.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})
            raise
        data = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
            (b"x-cap-request-id", secrets.token_hex(6).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _handle(self, request: Request) -> tuple[int, Any]:
        method = request.method
        # Route on the path as sent: a %2F inside a value stays inside that one segment.
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        if any(segment in (".", "..") for segment in path.split("/")[1:]) or "//" in path:
            return 400, {"warnings": [], "errors": [{"status": False, "code": 400, "message": "Invalid request path"}]}
        if path.startswith("/_sandbox/"):
            return await self._control(request, path)
        fault = self.faults.take(method, path)
        delay = self.faults.latency + (fault.latency if fault else 0.0)
        if delay:
            await anyio.sleep(delay)
        if path == TOKEN_PATH and method == "POST":
            return self._token(await _json(request))
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        if fault is not None and fault.status is not None:
            message = _BUSY.get(fault.status, "Injected failure")
            return fault.status, {
                "warnings": [],
                "errors": [{"status": False, "code": fault.status, "message": message}],
            }
        route, params = self._route(method, path)
        if route is None:
            return 404, {"warnings": [], "errors": [{"status": False, "code": 404, "message": "Resource not found"}]}
        body, form = await _body(request)
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in request.headers.items()}
        route, missing = self._shared_route(route, lambda op: _missing_required(op, params, query, headers, body, form))
        if missing:
            message = f"Invalid input: field '{missing}' is mandatory"
            return 400, {"warnings": [], "errors": [{"status": False, "code": 400, "message": message}]}
        handler = HANDLERS.get(route.op.name)
        if handler is None:
            answer = route.op.example.get("status", 200), route.op.example["response"]
        else:
            answer = handler(self.state, SandboxRequest(method, path, params, query, body, headers))
        if fault is not None and fault.drop:
            log.info("sandbox: dropping the connection after processing %s %s", method, path)
            raise _Dropped
        return answer

    def _route(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            if route.op.method != method:
                continue
            match = route.pattern.match(path)
            if match:
                return route, {name: unquote(value) for name, value in zip(route.names, match.groups(), strict=True)}
        return None, {}

    def _shared_route(self, route: _Route, missing: Callable[[Operation], str | None]) -> tuple[_Route, str | None]:
        """Operations sharing a method and path (v1.1 add and update a note, say): the first whose
        required arguments are all present; else the first, with what it misses."""
        shared = [r for r in self._routes if r.op.method == route.op.method and r.op.path == route.op.path]
        first = missing(route.op)
        for candidate in shared:
            if missing(candidate.op) is None:
                return candidate, None
        return route, first

    def _token(self, body: Any) -> tuple[int, Any]:
        body = body if isinstance(body, dict) else {}
        ok = hmac.compare_digest(str(body.get("key", "")), CLIENT_KEY) and hmac.compare_digest(
            str(body.get("secret", "")), CLIENT_SECRET
        )
        if not ok:
            return 401, {"data": None, "errors": [{"code": 401, "message": "Invalid client key or secret"}]}
        token = "sbx." + secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_ttl
        self.tokens_issued += 1
        return 200, {"data": {"accessToken": token, "ttlSeconds": self.token_ttl}, "errors": None}

    def _authenticate(self, request: Request) -> tuple[int, Any] | None:
        token = request.headers.get("x-cap-api-oauth-token")
        if token is not None:
            expiry = self.tokens.get(token)
            if expiry is not None and time.monotonic() < expiry:
                return None
            return 401, {
                "warnings": [],
                "errors": [{"status": False, "code": 401, "message": "Invalid or expired token"}],
            }
        authorization = request.headers.get("authorization", "")
        if authorization and hmac.compare_digest(authorization, self._basic):
            return None
        message = "Authentication failed. Please check username and password."
        return 401, {"warnings": [], "errors": [{"status": False, "code": 401, "message": message}]}

    async def _control(self, request: Request, path: str) -> tuple[int, Any]:
        if path == "/_sandbox/state":
            customers = {c.user_id: {"points": c.points, "tier": c.tier} for c in self.state.customers.values()}
            return 200, {"total_points": self.state.total_points(), "customers": customers,
                         "tokens_issued": self.tokens_issued}  # fmt: skip
        if path == "/_sandbox/reset" and request.method == "POST":
            self.reset()
            return 200, {"reset": True}
        if path == "/_sandbox/faults" and request.method == "POST":
            spec = await _json(request) or {}
            self.faults = Faults(
                latency=float(spec.get("latency", 0.0)),
                rules=[Fault(**rule) for rule in spec.get("rules", [])],
            )
            return 200, {"faults": spec}
        if path == "/_sandbox/healthz":
            return 200, {"ok": True}
        return 404, {"errors": [{"code": 404, "message": "unknown sandbox control endpoint"}]}


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _body(request: Request) -> tuple[Any, dict[str, Any]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:
            fields = {key: value if isinstance(value, str) else await value.read() for key, value in form.items()}
        return None, fields
    return await _json(request), {}


def _missing_required(
    op: Operation,
    params: dict[str, str],
    query: dict[str, str],
    headers: dict[str, str],
    body: Any,
    form: dict[str, Any],
) -> str | None:
    for arg in op.args:
        if not arg.required:
            continue
        if arg.location == "query" and arg.wire not in query:
            return arg.wire
        if arg.location == "header" and arg.wire.lower() not in headers:
            return arg.wire
        if arg.location == "body" and get_dotted(body, arg.wire) is None:
            return arg.wire
        if arg.location == "payload" and body in (None, [], {}):
            return "request body"
        if arg.location in ("form", "file") and arg.wire not in form:
            return arg.wire
    return None
