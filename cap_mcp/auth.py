"""Authentication to Capillary as `httpx.Auth` flows: Basic (md5 password) and OAuth tokens.

The OAuth flow keeps one token per process, renews it shortly before `ttlSeconds`
runs out — one renewal at a time, however many calls are waiting — and renews and
retries once when Capillary answers 401. Nothing here ever prints a secret.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Generator

import anyio
import httpx
from pydantic import SecretStr

from .observe import NULL, Observer

log = logging.getLogger("cap_mcp.auth")

TOKEN_PATH = "/v3/oauth/token/generate"
TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"


class AuthError(Exception):
    """Capillary refused cap-mcp's credentials or the token could not be obtained."""


def basic_header(username: str, password: str) -> str:
    """`Basic base64(username:md5hex(password))`, as Capillary's reference specifies."""
    digest = hashlib.md5(password.encode("utf-8")).hexdigest()
    return "Basic " + base64.b64encode(f"{username}:{digest}".encode()).decode("ascii")


class CapillaryBasicAuth(httpx.Auth):
    """Till credentials in the Authorization header."""

    def __init__(self, username: str, password: SecretStr) -> None:
        self._header = SecretStr(basic_header(username, password.get_secret_value()))
        self.username = username

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header.get_secret_value()
        yield request

    def __repr__(self) -> str:
        return f"CapillaryBasicAuth(username={self.username!r}, password=**********)"


class CapillaryOAuth(httpx.Auth):
    """OAuth client credentials exchanged for an access token sent as X-CAP-API-OAUTH-TOKEN."""

    requires_response_body = False

    def __init__(
        self,
        token_url: str,
        client_key: str,
        client_secret: SecretStr,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        observer: Observer = NULL,
    ) -> None:
        self._observer = observer
        self._token_url = token_url
        self._key = client_key
        self._secret = client_secret
        self._http = http
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = anyio.Lock()
        self.renewals = 0  # token requests made; exposed for tests and metrics

    def __repr__(self) -> str:
        return f"CapillaryOAuth(client_key={self._key!r}, client_secret=**********)"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("CapillaryOAuth needs an async client")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers[TOKEN_HEADER] = token
        response = yield request
        if response.status_code == 401:
            # A 401 means the request was refused, not processed: safe to send again once.
            token = await self._renew(stale=token)
            request.headers[TOKEN_HEADER] = token
            yield request

    async def token(self) -> str:
        """A valid access token, renewing it first if it is about to expire."""
        if self._token is not None and self._clock() < self._expires_at:
            return self._token.get_secret_value()
        current = self._token.get_secret_value() if self._token is not None else None
        return await self._renew(stale=current, only_if_expired=True)

    async def _renew(self, *, stale: str | None, only_if_expired: bool = False) -> str:
        async with self._lock:
            # Whoever held the lock before us may have renewed already.
            if self._token is not None:
                current = self._token.get_secret_value()
                fresh = self._clock() < self._expires_at
                if (only_if_expired and fresh) or (not only_if_expired and current != stale and fresh):
                    return current
            token, ttl = await self._request_token()
            margin = min(30.0, ttl / 10)
            self._token = SecretStr(token)
            self._expires_at = self._clock() + max(ttl - margin, 0.0)
            return token

    async def _request_token(self) -> tuple[str, float]:
        self.renewals += 1
        try:
            response = await self._http.post(
                self._token_url,
                json={"key": self._key, "secret": self._secret.get_secret_value()},
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            self._observer.oauth_renewal("unreachable")
            raise AuthError(f"could not reach the OAuth token endpoint ({type(exc).__name__})") from None
        if response.status_code != 200:
            self._observer.oauth_renewal("refused")
            raise AuthError(
                f"the OAuth token request was refused (HTTP {response.status_code}): "
                "check CAP_MCP_CLIENT_KEY and CAP_MCP_CLIENT_SECRET"
            )
        try:
            data = response.json()["data"]
            token, ttl = str(data["accessToken"]), float(data["ttlSeconds"])
        except (ValueError, KeyError, TypeError):
            self._observer.oauth_renewal("refused")
            raise AuthError("the OAuth token response had no data.accessToken / data.ttlSeconds") from None
        self._observer.oauth_renewal("ok")
        log.info("obtained a Capillary access token valid for %.0f s", ttl)
        return token, ttl
