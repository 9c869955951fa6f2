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
from .answers import AnswerTooLarge, UnreadableEncoding, parse_body, read_body
from .auth import TOKEN_PATH, AuthError, CapillaryBasicAuth, CapillaryOAuth
from .catalog import Catalog, Operation
from .config import Settings
from .envelope import Outcome, normalise
from .observe import NULL, Observer
from .redaction import redact_url
from .request_builder import HttpRequest, RequestRefused, UnknownHost, build_request

log = logging.getLogger("cap_mcp.client")

RETRYABLE_STATUS = frozenset({461, 521}) | frozenset(range(500, 600))
# 5xx answers Capillary documents as "not processed, try later": a change answered so did not happen.
REJECTED_5XX = frozenset({521})
_REQUEST_ID_HEADERS = ("x-cap-request-id", "x-cap-requestid", "x-request-id")
# Failures where the request certainly never left this process.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.InvalidURL,
)
_FIX_ARGUMENTS = "check the arguments for characters that cannot be sent (control characters in headers)"
_ASK_OPERATOR = "if this persists, the operator should check CAP_MCP_CLUSTER/CAP_MCP_BASE_URL and Capillary's status"
_NARROW = "narrow the request (a smaller page, a shorter date range or a filter) and try again"
_KIND_WORDS = {"empty": "empty", "scalar": "a bare JSON value", "text": "not JSON (an error or maintenance page?)"}


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
        return f"CapillaryClient(base_url={redact_url(self._settings.api_base_url)!r}, auth={self.auth!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> CapillaryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def build(self, op: Operation, arguments: dict[str, Any]) -> HttpRequest:
        return build_request(op, arguments, hosts=self._hosts)

    async def call(self, op: Operation, arguments: dict[str, Any]) -> Outcome:
        """Send one operation; never raises, always returns an `Outcome` of a definite class."""
        change = op.effect_for(arguments) != "read"
        try:
            request = self.build(op, arguments)
        except (UnknownHost, RequestRefused) as exc:
            return not_sent(str(exc), "the operator must configure that host" if isinstance(exc, UnknownHost) else "")
        attempts = 1 + (0 if change else self._settings.read_retries)
        outcome: Outcome | None = None
        for attempt in range(1, attempts + 1):
            outcome, retry = await self._attempt(op, request, change, attempt)
            if not retry or attempt == attempts:
                break
            await anyio.sleep(self._backoff(attempt))
        assert outcome is not None
        return outcome if outcome.attempts == attempt else replace(outcome, attempts=attempt)

    async def _attempt(self, op: Operation, request: HttpRequest, change: bool, attempt: int) -> tuple[Outcome, bool]:
        """One try, reported to the observer: the HTTP status (or why there was none) and the time taken."""
        started = time.perf_counter()
        status: int | str = "no_answer"
        try:
            outcome, retry = await self._try(op, request, change)
            status = outcome.http_status if outcome.http_status is not None else _no_status(outcome)
            return outcome, retry
        finally:
            self.observer.upstream(op.name, status, time.perf_counter() - started)

    async def _try(self, op: Operation, request: HttpRequest, change: bool) -> tuple[Outcome, bool]:
        """One try: the outcome, and whether a read may try again."""
        started = time.perf_counter()
        try:
            http_request = self._http_request(request)
        except Exception as exc:  # httpx refused to build it (a header or URL it cannot send): nothing left
            log.warning("%s (%s %s): not sent (%s)", op.name, op.method, op.path, type(exc).__name__)
            return not_sent("the request could not be encoded for sending", _FIX_ARGUMENTS), False
        try:
            response = await self._http.send(http_request, auth=self.auth, stream=True)
        except AuthError as exc:
            return not_sent(str(exc), "the operator must fix the credentials"), False
        except _NOT_SENT as exc:
            log.warning("%s (%s %s): not sent (%s)", op.name, op.method, op.path, type(exc).__name__)
            if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol | httpx.InvalidURL):
                return not_sent("the request could not be encoded for sending", _FIX_ARGUMENTS), False
            return not_sent(
                "could not connect to Capillary",
                "try again later; if it persists, the operator should check CAP_MCP_CLUSTER/CAP_MCP_BASE_URL",
            ), True
        except Exception as exc:  # timeouts, dropped connections, anything else after the request may have left
            log.warning("%s (%s %s): no answer (%s)", op.name, op.method, op.path, type(exc).__name__)
            cause = "timeout" if isinstance(exc, httpx.TimeoutException) else "no_answer"
            if change:
                return replace(unknown(op, "no answer came back (timeout or dropped connection)"), cause=cause), False
            outcome = failed(
                "Capillary did not answer in time", "try again in a moment; narrow the query if it is large"
            )
            return replace(outcome, cause=cause), True
        try:
            try:
                body = await read_body(response, self._settings.max_answer_bytes)
            except AnswerTooLarge as exc:
                return self._too_large(op, response.status_code, change, exc), False
            except UnreadableEncoding as exc:
                return self._unreadable(op, response.status_code, change, str(exc)), False
            except Exception as exc:  # the connection broke while the answer was being read
                log.warning("%s (%s %s): answer broken off (%s)", op.name, op.method, op.path, type(exc).__name__)
                if change:
                    return unknown(op, "the answer was broken off before it was complete"), False
                return failed("Capillary's answer was broken off", "try again in a moment"), True
        finally:
            await response.aclose()
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("%s (%s %s) -> %s in %.0f ms", op.name, op.method, op.path, response.status_code, elapsed)
        outcome = self._outcome(op, response, body, change)
        retry = not change and response.status_code in RETRYABLE_STATUS
        return outcome, retry

    def _http_request(self, request: HttpRequest) -> httpx.Request:
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
        return self._http.build_request(request.method, request.url, **kwargs)

    def _outcome(self, op: Operation, response: httpx.Response, body: bytes, change: bool) -> Outcome:
        status = response.status_code
        answer = parse_body(body)
        request_id = next((response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None)
        if 300 <= status < 400 or status < 200:
            what = f"Capillary answered with a redirect (HTTP {status}), which cap-mcp does not follow"
            if change:
                return unknown(op, what, http_status=status, payload=answer.payload, request_id=request_id)
            return failed(what, _ASK_OPERATOR, http_status=status, payload=answer.payload, request_id=request_id)
        if status >= 500 and status not in REJECTED_5XX:
            if change:
                what = f"Capillary or a gateway in front of it failed (HTTP {status}); it may have processed the call"
                return unknown(op, what, http_status=status, payload=answer.payload, request_id=request_id)
        elif status < 300 and answer.kind != "json" and not (status == 204 and answer.kind == "empty"):
            what = f"the answer (HTTP {status}) was {_KIND_WORDS[answer.kind]}, not a Capillary response"
            if change:
                return unknown(op, what, http_status=status, payload=answer.payload, request_id=request_id)
            return failed(what, _ASK_OPERATOR, http_status=status, payload=answer.payload, request_id=request_id)
        return normalise(status, answer.payload, toolset=op.toolset, codes=self._codes, request_id=request_id)

    def _too_large(self, op: Operation, status: int, change: bool, exc: AnswerTooLarge) -> Outcome:
        what = f"the answer (HTTP {status}) was larger than {exc.limit:,} bytes and was not read"
        if 400 <= status < 500 or (not change and status >= 300):
            return failed(what, _NARROW, http_status=status)
        if change:
            return unknown(op, what, http_status=status)
        return failed(what, _NARROW, http_status=status)

    def _unreadable(self, op: Operation, status: int, change: bool, why: str) -> Outcome:
        what = f"the answer (HTTP {status}) could not be decoded ({why})"
        if change and not 400 <= status < 500:
            return unknown(op, what, http_status=status)
        return failed(what, _ASK_OPERATOR, http_status=status)

    def _backoff(self, attempt: int) -> float:
        delay = min(2.0, self._backoff_base * 2.0 ** (attempt - 1))
        return float(delay * (0.5 + random.random() / 2))  # jitter, not security

    def _base_headers(self) -> dict[str, str]:
        s = self._settings
        headers = {
            "Accept": "application/json",
            # Only codings read_body can decode in bounded steps.
            "Accept-Encoding": "gzip, deflate",
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


def _no_status(outcome: Outcome) -> str:
    """Why a request to Capillary got no HTTP status, in one word (for metrics and traces)."""
    return outcome.cause or ("no_answer" if outcome.sent else "not_sent")


def unknown(
    op: Operation,
    what: str,
    *,
    http_status: int | None = None,
    payload: Any = None,
    request_id: str | None = None,
) -> Outcome:
    """A change that may have reached Capillary without a trustworthy answer: never re-sent, verified by a read."""
    check = f"call {op.verify_with} to see whether it took effect" if op.verify_with else "check in Capillary"
    return Outcome(
        status="unknown",
        http_status=http_status,
        payload=payload,
        request_id=request_id,
        message=f"the request was sent and {what}",
        hint=f"do not repeat it blindly: {check}; trying again needs a new confirmation",
    )


def not_sent(message: str, hint: str) -> Outcome:
    """Nothing left this process, so nothing can have happened."""
    return Outcome(status="failure", http_status=None, payload=None, message=f"{message}; nothing was sent", hint=hint,
                   sent=False)  # fmt: skip


def failed(
    message: str, hint: str, *, http_status: int | None = None, payload: Any = None, request_id: str | None = None
) -> Outcome:
    return Outcome(status="failure", http_status=http_status, payload=payload, message=message, hint=hint,
                   request_id=request_id)  # fmt: skip


def _code_book(catalog: Catalog) -> dict[str, dict[str, dict[str, str]]]:
    book: dict[str, dict[str, dict[str, str]]] = {"common": dict(catalog.error_codes.get("codes", {}))}
    for name, toolset in catalog.toolsets.items():
        book[name] = dict(toolset.error_codes)  # type: ignore[arg-type]
    return book
