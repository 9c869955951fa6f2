"""Streamable HTTP: authentication, Host/Origin checks, guards in both eras, callers, replicas, shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from conftest import ROOT, TRANSFER_ARGS, answering
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from recorder import Recorder, Reply

from cap_mcp.config import ConfigError
from cap_mcp.http_app import build_http_app

pytestmark = pytest.mark.anyio

TOKENS = "alice:token-for-alice,bob:token-for-bob"
LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serving(runtime: Any, **kwargs: Any) -> AsyncIterator[str]:
    """Serve the runtime over HTTP on a free loopback port for the duration of the block."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_http_app(runtime, **kwargs), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))  # fmt: skip
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True


@asynccontextmanager
async def mcp_client(url: str, token: str | None, mode: str = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url + "/mcp", http_client=http), mode=mode, **kwargs) as client,
    ):
        yield client


async def test_no_or_wrong_token_is_401_and_healthz_is_open(make_runtime) -> None:
    async with serving(make_runtime(http_token=TOKENS)) as url, httpx.AsyncClient() as http:
        assert (await http.post(url + "/mcp", json=INIT, headers=MCP_HEADERS)).status_code == 401
        wrong = {**MCP_HEADERS, "Authorization": "Bearer token-for-mallory"}
        assert (await http.post(url + "/mcp", json=INIT, headers=wrong)).status_code == 401
        right = {**MCP_HEADERS, "Authorization": "Bearer token-for-alice"}
        assert (await http.post(url + "/mcp", json=INIT, headers=right)).status_code == 200
        health = await http.get(url + "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_spoofed_host_and_foreign_origin_are_refused(make_runtime) -> None:
    headers = {**MCP_HEADERS, "Authorization": "Bearer token-for-alice"}
    async with serving(make_runtime(http_token=TOKENS)) as url, httpx.AsyncClient() as http:
        spoofed = await http.post(url + "/mcp", json=INIT, headers={**headers, "Host": "evil.example.com"})
        foreign = await http.post(url + "/mcp", json=INIT, headers={**headers, "Origin": "https://evil.example.com"})
        local = await http.post(url + "/mcp", json=INIT, headers={**headers, "Origin": url})
    assert spoofed.status_code == 421
    assert foreign.status_code == 403
    assert local.status_code == 200


async def test_a_public_hostname_can_be_allowed(make_runtime) -> None:
    runtime = make_runtime(
        http_token=TOKENS, allowed_hosts="mcp.brand.example", allowed_origins="https://copilot.brand.example"
    )
    headers = {**MCP_HEADERS, "Authorization": "Bearer token-for-alice", "Host": "mcp.brand.example",
               "Origin": "https://copilot.brand.example"}  # fmt: skip
    async with serving(runtime) as url, httpx.AsyncClient() as http:
        assert (await http.post(url + "/mcp", json=INIT, headers=headers)).status_code == 200


async def test_the_request_body_is_limited(make_runtime) -> None:
    headers = {**MCP_HEADERS, "Authorization": "Bearer token-for-alice"}
    big = {**INIT, "params": {**INIT["params"], "padding": "x" * (2 * 1024 * 1024)}}
    async with serving(make_runtime(http_token=TOKENS)) as url, httpx.AsyncClient() as http:
        assert (await http.post(url + "/mcp", json=big, headers=headers)).status_code == 413


def test_a_public_bind_without_authentication_refuses_to_start(make_settings, catalog) -> None:
    from cap_mcp.runtime import build_runtime

    runtime = build_runtime(make_settings(), catalog=catalog)
    with pytest.raises(ConfigError, match="CAP_MCP_HTTP_TOKEN"):
        build_http_app(runtime, host="0.0.0.0")
    build_http_app(runtime, host="0.0.0.0", allow_unauthenticated_remote=True)  # explicit and logged


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_guarded_transfer_over_http(
    make_runtime, recorder: Recorder, audit_path, stateless: bool, mode: str
) -> None:
    runtime = make_runtime(http_token=TOKENS)
    async with serving(runtime, stateless=stateless) as url:
        async with mcp_client(url, "token-for-alice", mode, elicitation_callback=answering("accept")) as client:
            result = await client.call_tool("points_transfer", TRANSFER_ARGS)
            if mode == "legacy" and stateless:
                # A 2025-era client cannot be asked on stateless HTTP: it gets the token fallback.
                token = result.structured_content["confirmation_token"]
                assert len(recorder.calls("POST", "/v2/points/transfer")) == 0
                result = await client.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
        async with mcp_client(url, "token-for-alice", mode, elicitation_callback=answering("decline")) as client:
            declined = await client.call_tool("points_transfer", TRANSFER_ARGS)
    assert not result.is_error and len(recorder.calls("POST", "/v2/points/transfer")) == 1
    assert declined.is_error or declined.structured_content["status"] == "confirmation_required"
    assert len(recorder.calls("POST", "/v2/points/transfer")) == 1
    assert '"caller":"alice"' in audit_path.read_text()
    assert "token-for-alice" not in audit_path.read_text()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_token_minted_for_one_caller_is_refused_for_another(
    make_runtime, recorder: Recorder, mode: str
) -> None:
    async with serving(make_runtime(http_token=TOKENS), stateless=True) as url:
        async with mcp_client(url, "token-for-alice", mode) as alice:
            minted = await alice.call_tool("points_transfer", TRANSFER_ARGS)
        token = minted.structured_content["confirmation_token"]
        async with mcp_client(url, "token-for-bob", mode) as bob:
            stolen = await bob.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
        async with mcp_client(url, "token-for-alice", mode) as alice:
            own = await alice.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
    assert stolen.is_error and "another caller" in stolen.content[0].text
    assert not own.is_error
    assert len(recorder.calls("POST", "/v2/points/transfer")) == 1


async def test_one_caller_cannot_take_all_the_upstream_capacity(make_runtime, recorder: Recorder) -> None:
    """Alice's look-ups are held upstream: at most two are in flight at once, and Bob is served meanwhile."""
    lock, release = threading.Lock(), threading.Event()
    in_flight = {"now": 0, "peak": 0}

    def held(item: Any) -> Reply:
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        release.wait(30)
        with lock:
            in_flight["now"] -= 1
        return Reply()

    recorder.on("GET", "/v2/customers/lookup/customerDetails", held)
    recorder.on("GET", "/v2/customers/5100002", Reply(200, {"id": 5100002}))
    runtime = make_runtime(http_token=TOKENS, max_concurrent_per_caller=2)
    async with serving(runtime, stateless=True) as url:

        async def alice_lookup() -> None:
            async with mcp_client(url, "token-for-alice") as alice:
                assert not (await alice.call_tool("customer_lookup", LOOKUP)).is_error

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(alice_lookup)
            with anyio.fail_after(20):
                while in_flight["now"] < 2:
                    await anyio.sleep(0.02)
            async with mcp_client(url, "token-for-bob") as bob:
                served = await bob.call_tool("customer_get", {"customerId": 5100002, "source": "INSTORE"})
            assert not served.is_error and in_flight["now"] == 2, "Bob is served while Alice's two are held"
            release.set()
    assert in_flight["peak"] == 2, "never more than two of one caller's calls upstream at once"
    assert len(recorder.calls("GET", "/v2/customers/lookup/customerDetails")) == 6


# --- several processes ------------------------------------------------------------------------------------


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def start_replica(recorder: Recorder, tmp_path: Any, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {
        **os.environ,
        "CAP_MCP_BASE_URL": recorder.url,
        "CAP_MCP_USERNAME": "store.server",
        "CAP_MCP_PASSWORD": "server123",
        "CAP_MCP_HTTP_TOKEN": TOKENS,
        "CAP_MCP_AUDIT_LOG": str(tmp_path / f"audit-{port}.jsonl"),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cap_mcp", "serve", "--transport", "http", "--port", str(port), "--stateless"],
        cwd=ROOT, env=environment, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/healthz")
    return process, url


async def test_two_replicas_sharing_redis_use_a_token_once(recorder: Recorder, redis_url: str, tmp_path) -> None:
    shared = {"CAP_MCP_STATE_KEY": "shared-key-" + "x" * 32, "CAP_MCP_STATE_URL": redis_url}
    a, url_a = start_replica(recorder, tmp_path, **shared)
    b, url_b = start_replica(recorder, tmp_path, **shared)
    try:
        async with mcp_client(url_a, "token-for-alice", "legacy") as client:
            token = (await client.call_tool("points_transfer", TRANSFER_ARGS)).structured_content["confirmation_token"]
        args = {**TRANSFER_ARGS, "confirmation_token": token}
        results = []
        for url in (url_b, url_a, url_b):
            async with mcp_client(url, "token-for-alice", "legacy") as client:
                results.append(await client.call_tool("points_transfer", args))
        # 2026-07-28 elicitation whose answer lands on the other replica: the sealed state is shared too.
        async with mcp_client(url_a, "token-for-alice", elicitation_callback=answering("accept")) as client:
            assert not (await client.call_tool("coupon_redeem", {"redemptionRequestList": [{"code": "X"}],
                                                                 "user": {"mobile": "1"}, "billAmount": 1,
                                                                 "transactionNumber": "B"})).is_error  # fmt: skip
    finally:
        for process in (a, b):
            process.terminate()
            process.wait(20)
    assert [r.is_error for r in results] == [False, True, True]
    assert all("already used" in r.content[0].text for r in results[1:])
    assert len(recorder.calls("POST", "/v2/points/transfer")) == 1


async def test_graceful_shutdown_completes_an_in_flight_call(recorder: Recorder, tmp_path) -> None:
    recorder.on("GET", "/v2/customers/lookup/customerDetails", Reply(200, {"id": 5100001}, delay=1.5))
    process, url = start_replica(recorder, tmp_path)
    try:
        async with mcp_client(url, "token-for-alice", "auto") as client:
            await client.list_tools()  # so the client needs no tools/list after the server stopped
            async with anyio.create_task_group() as tg:
                results: list[Any] = []

                async def call() -> None:
                    results.append(await client.call_tool("customer_lookup", LOOKUP))

                tg.start_soon(call)
                await anyio.sleep(0.5)
                process.send_signal(signal.SIGTERM)  # the call is in flight upstream
        await anyio.sleep(0.3)
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/healthz", timeout=1)  # new connections are refused
        assert process.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained
    finally:
        if process.poll() is None:
            process.kill()
    assert not results[0].is_error and results[0].structured_content["data"] == {"id": 5100001}
