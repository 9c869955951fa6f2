"""The shared Capillary client: one `httpx.AsyncClient` per process for every tool.

Reads are retried with backoff on transient failures (timeouts, dropped
connections, 5xx, 461 busy search, 521 customer busy). A write is sent at most
once: if it may have reached Capillary but no answer came back, the outcome is
"unknown" and the result names the read tool that tells what happened.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import replace
from typing import Any

import anyio
import httpx

from . import __version__
from .auth import TOKEN_PATH, AuthError, CapillaryBasicAuth, CapillaryOAuth
from .catalog import Catalog, Operation
from .config import Settings
from .envelope import Outcome, normalise
from .observe import NULL, Observer
from .request_builder import HttpRequest, UnknownHost, build_request

log = logging.getLogger("cap_mcp.client")

RETRYABLE_STATUS = frozenset({461, 521}) | frozenset(range(500, 600))
_REQUEST_ID_HEADERS = ("x-cap-request-id", "x-cap-requestid", "x-request-id")
# Failures where the request certainly never left this process.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class CapillaryClient:
    """Sends catalogued operations to Capillary (or the sandbox) and normalises the answers."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.25,
        observer: Observer = NULL,
    ) -> None:
        self.observer = observer
        self._settings = settings
        self._catalog = catalog
        self._backoff_base = backoff_base
        self._codes = _code_book(catalog)
        self._hosts = settings.host_map()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout, pool=settings.read_timeout),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
                keepalive_expiry=30.0,
            ),
            headers=self._base_headers(),
            follow_redirects=False,
        )
        self.auth: httpx.Auth = self._build_auth()

    def __repr__(self) -> str:
        return f"CapillaryClient(base_url={self._settings.api_base_url!r}, auth={self.auth!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> CapillaryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def build(self, op: Operation, arguments: dict[str, Any]) -> HttpRequest:
        return build_request(op, arguments, hosts=self._hosts)

    async def call(self, op: Operation, arguments: dict[str, Any]) -> Outcome:
        """Send one operation; never raises for upstream trouble, returns an `Outcome`."""
        try:
            request = self.build(op, arguments)
        except UnknownHost as exc:
            return _failure(f"not sent: {exc}", "the operator must configure that host", 0)
        attempts = 1 + (self._settings.read_retries if op.effect == "read" else 0)
        outcome: Outcome | None = None
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                response = await self._observed_send(op, request)
            except AuthError as exc:
                return _failure(str(exc), "the operator must fix the credentials", attempt)
            except _NOT_SENT as exc:
                log.warning("%s %s: not sent (%s)", op.method, op.path, type(exc).__name__)
                outcome = _failure(
                    "could not connect to Capillary; nothing was sent",
                    "try again later; if it persists, the operator should check CAP_MCP_CLUSTER/CAP_MCP_BASE_URL",
                    attempt,
                )
            except Exception as exc:
                log.warning("%s %s: no answer (%s)", op.method, op.path, type(exc).__name__)
                if op.effect != "read":
                    return unknown_outcome(op, attempt)
                outcome = _failure(
                    "Capillary did not answer in time",
                    "try again in a moment; narrow the query if it is large",
                    attempt,
                )
            else:
                elapsed = (time.perf_counter() - started) * 1000
                log.debug("%s %s -> %s in %.0f ms", op.method, op.path, response.status_code, elapsed)
                outcome = self._outcome(op, response, attempt)
                if not (op.effect == "read" and response.status_code in RETRYABLE_STATUS):
                    return outcome
            if attempt < attempts:
                await anyio.sleep(self._backoff(attempt))
        assert outcome is not None
        return outcome

    async def _observed_send(self, op: Operation, request: HttpRequest) -> httpx.Response:
        """`_send`, reporting the request's status (or why there was none) and time to the observer."""
        started = time.perf_counter()
        status: int | str = "no_answer"
        try:
            response = await self._send(request)
            status = response.status_code
            return response
        except BaseException as exc:
            status = upstream_failure(exc)
            raise
        finally:
            self.observer.upstream(op.name, status, time.perf_counter() - started)

    async def _send(self, request: HttpRequest) -> httpx.Response:
        headers = dict(request.headers)
        kwargs: dict[str, Any] = {"params": request.params, "headers": headers}
        if request.files or request.form:
            kwargs["data"] = request.form
            kwargs["files"] = request.files  # httpx writes the multipart Content-Type with its boundary
        else:
            # Capillary asks for Content-Type: application/json on every call, bodiless ones included.
            headers.setdefault("Content-Type", "application/json")
            if request.has_json_body:
                kwargs["json"] = request.json_body
        http_request = self._http.build_request(request.method, request.url, **kwargs)
        response = await self._http.send(http_request, auth=self.auth)
        await response.aread()
        return response

    def _outcome(self, op: Operation, response: httpx.Response, attempt: int) -> Outcome:
        payload: Any
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = response.text[:2000]
        request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None)
        outcome = normalise(response.status_code, payload, toolset=op.toolset, codes=self._codes, request_id=request_id)
        if attempt > 1:
            outcome = _with_attempts(outcome, attempt)
        return outcome

    def _backoff(self, attempt: int) -> float:
        delay = min(2.0, self._backoff_base * 2.0 ** (attempt - 1))
        return float(delay * (0.5 + random.random() / 2))  # jitter, not security

    def _base_headers(self) -> dict[str, str]:
        s = self._settings
        headers = {
            "Accept": "application/json",
            "User-Agent": f"cap-mcp/{__version__}",
        }
        if s.attribution_entity_type:
            headers["X-CAP-API-ATTRIBUTION-ENTITY-TYPE"] = s.attribution_entity_type
        if s.attribution_entity_code:
            headers["X-CAP-API-ATTRIBUTION-ENTITY-CODE"] = s.attribution_entity_code
        if s.auth == "basic" and s.attribution_lookup_type and s.attribution_lookup:
            headers["X-CAP-API-ATTRIBUTION-LOOKUP-TYPE"] = s.attribution_lookup_type
            headers["X-CAP-API-ATTRIBUTION-LOOKUP"] = s.attribution_lookup
        return headers

    def _build_auth(self) -> httpx.Auth:
        s = self._settings
        if s.auth == "oauth" and s.client_key and s.client_secret:
            return CapillaryOAuth(s.api_base_url + TOKEN_PATH, s.client_key, s.client_secret, self._http,
                                  observer=self.observer)  # fmt: skip
        if s.username and s.password:
            return CapillaryBasicAuth(s.username, s.password)
        raise AuthError("no credentials configured")


def upstream_failure(exc: BaseException) -> str:
    """Why a request to Capillary got no HTTP status, in one word (for metrics and traces)."""
    if isinstance(exc, AuthError):
        return "auth_error"
    if isinstance(exc, _NOT_SENT):
        return "not_sent"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "no_answer"


def unknown_outcome(op: Operation, attempts: int = 1) -> Outcome:
    check = f"call {op.verify_with} to see whether it took effect" if op.verify_with else "check in Capillary"
    return Outcome(
        status="unknown",
        http_status=None,
        payload=None,
        message="outcome unknown: the request was sent but no answer came back (timeout or dropped connection)",
        hint=f"do not repeat it blindly: {check}; trying again needs a new confirmation",
        attempts=attempts,
    )


def _failure(message: str, hint: str, attempts: int) -> Outcome:
    return Outcome(status="failure", http_status=None, payload=None, message=message, hint=hint, attempts=attempts)


def _with_attempts(outcome: Outcome, attempts: int) -> Outcome:
    return replace(outcome, attempts=attempts)


def _code_book(catalog: Catalog) -> dict[str, dict[str, dict[str, str]]]:
    book: dict[str, dict[str, dict[str, str]]] = {"common": dict(catalog.error_codes.get("codes", {}))}
    for name, toolset in catalog.toolsets.items():
        book[name] = dict(toolset.error_codes)  # type: ignore[arg-type]
    return book
