"""Authentication to Capillary: the reference's Basic vector, and OAuth token caching and renewal."""

from __future__ import annotations

import anyio
import httpx
import pytest
from conftest import BASIC_HEADER, BASIC_PASSWORD, BASIC_USER
from pydantic import SecretStr
from recorder import Recorder

from cap_mcp.auth import TOKEN_PATH, CapillaryBasicAuth, CapillaryOAuth, basic_header
from cap_mcp.client import CapillaryClient

pytestmark = pytest.mark.anyio


def test_basic_header_matches_the_reference_vector() -> None:
    assert basic_header(BASIC_USER, BASIC_PASSWORD) == BASIC_HEADER


def test_credentials_never_appear_in_reprs() -> None:
    assert BASIC_PASSWORD not in repr(CapillaryBasicAuth(BASIC_USER, SecretStr(BASIC_PASSWORD)))
    oauth = CapillaryOAuth("http://x", "client-key", SecretStr("client-secret"), httpx.AsyncClient())
    assert "client-secret" not in repr(oauth)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _get(http: httpx.AsyncClient, auth: httpx.Auth, url: str) -> httpx.Response:
    return await http.get(url + "/v2/customers/lookup", auth=auth)


async def test_oauth_token_is_cached_and_renewed_before_it_expires(recorder: Recorder) -> None:
    recorder.token_ttl = 300
    clock = Clock()
    async with httpx.AsyncClient() as http:
        auth = CapillaryOAuth(recorder.url + TOKEN_PATH, "client-key", SecretStr("client-secret"), http, clock=clock)
        for _ in range(3):
            assert (await _get(http, auth, recorder.url)).status_code == 200
        assert recorder.tokens_issued == 1
        clock.now += 275  # inside the renewal margin, before the 300 s are over
        assert (await _get(http, auth, recorder.url)).status_code == 200
        assert recorder.tokens_issued == 2
    sent = [r.header("X-CAP-API-OAUTH-TOKEN") for r in recorder.calls()]
    assert sent == ["token-1", "token-1", "token-1", "token-2"]


async def test_oauth_renews_and_retries_once_after_a_401(recorder: Recorder) -> None:
    async with httpx.AsyncClient() as http:
        auth = CapillaryOAuth(recorder.url + TOKEN_PATH, "client-key", SecretStr("client-secret"), http)
        assert (await _get(http, auth, recorder.url)).status_code == 200
        recorder.expire_tokens()  # Capillary revoked it early
        assert (await _get(http, auth, recorder.url)).status_code == 200
    assert recorder.tokens_issued == 2
    assert [r.header("X-CAP-API-OAUTH-TOKEN") for r in recorder.calls()] == ["token-1", "token-1", "token-2"]


async def test_fifty_concurrent_calls_with_an_expired_token_make_one_token_request(recorder: Recorder) -> None:
    recorder.token_delay = 0.2  # a slow token endpoint makes every caller wait on the same renewal
    clock = Clock()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=60)) as http:
        auth = CapillaryOAuth(recorder.url + TOKEN_PATH, "client-key", SecretStr("client-secret"), http, clock=clock)
        await _get(http, auth, recorder.url)
        clock.now += 10_000  # long expired
        statuses: list[int] = []

        async def one() -> None:
            statuses.append((await _get(http, auth, recorder.url)).status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
    assert statuses == [200] * 50
    assert recorder.tokens_issued == 2  # the first token, then exactly one renewal


async def test_thirty_concurrent_tool_calls_share_one_token_through_the_client(
    recorder: Recorder, make_settings, catalog
) -> None:
    recorder.token_delay = 0.1
    settings = make_settings(auth="oauth", client_key="client-key", client_secret="client-secret")
    op = catalog.get("customer_lookup")
    args = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
    async with CapillaryClient(settings, catalog) as client:
        outcomes = []

        async def one() -> None:
            outcomes.append(await client.call(op, args))

        async with anyio.create_task_group() as tg:
            for _ in range(32):
                tg.start_soon(one)
    assert all(o.status == "success" for o in outcomes)
    assert recorder.tokens_issued == 1
    assert len(recorder.calls()) == 32


async def test_wrong_oauth_client_is_reported_without_sending_the_call(
    recorder: Recorder, make_settings, catalog
) -> None:
    settings = make_settings(auth="oauth", client_key="client-key", client_secret="wrong-secret")
    async with CapillaryClient(settings, catalog) as client:
        outcome = await client.call(catalog.get("points_transfer"), {})
    assert outcome.status == "failure"
    assert "CAP_MCP_CLIENT_KEY" in outcome.message
    assert "wrong-secret" not in outcome.message
    assert recorder.calls() == []
