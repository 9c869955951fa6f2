"""HTTP limits: half-sent connections are closed, slow answers are not, one caller may use the whole pool."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from anyio.abc import SocketStream
from recorder import Recorded, Recorder, Reply
from test_http import TOKENS, free_port, mcp_client

from cap_mcp.http_app import MAX_HEAD_BYTES, build_http_app, http_config

pytestmark = pytest.mark.anyio

LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}
PARTIAL_HEAD = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer token-for-alice\r\nContent-Ty"


@asynccontextmanager
async def serving(runtime: Any, header_timeout: float, **kwargs: Any) -> AsyncIterator[str]:
    """cap-mcp's own uvicorn configuration (`http_config`), with a short request-head timeout."""
    port = free_port()
    app = build_http_app(runtime, **kwargs)
    server = uvicorn.Server(http_config(app, host="127.0.0.1", port=port, header_timeout=header_timeout))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True


async def closed_by_server(stream: SocketStream) -> bool:
    """Wait until the server closes the connection (True) or sends something (False)."""
    try:
        await stream.receive()
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
        return True
    return False


async def test_sixty_half_sent_connections_are_closed_by_the_server(make_runtime) -> None:
    async with serving(make_runtime(http_token=TOKENS), header_timeout=0.5) as url:
        port = int(url.rsplit(":", 1)[1])
        streams = [await anyio.connect_tcp("127.0.0.1", port) for _ in range(60)]
        for index, stream in enumerate(streams):
            if index % 3:  # two in three send part of a request head; the others nothing at all
                await stream.send(PARTIAL_HEAD)
        closed: list[bool] = []

        async def watch(stream: SocketStream) -> None:
            closed.append(await closed_by_server(stream))

        with anyio.fail_after(60):  # a bound for a hang, not a speed requirement
            async with anyio.create_task_group() as tg:
                for stream in streams:
                    tg.start_soon(watch, stream)
        for stream in streams:
            await stream.aclose()
        async with httpx.AsyncClient() as http:  # the server still serves everyone else
            assert (await http.get(url + "/healthz")).status_code == 200
    assert closed == [True] * 60


async def test_an_answer_slower_than_the_head_timeout_still_arrives(make_runtime, recorder: Recorder) -> None:
    recorder.on("GET", "/v2/customers/lookup/customerDetails", Reply(200, {"id": 5100001}, delay=1.5))
    async with (
        serving(make_runtime(http_token=TOKENS), header_timeout=0.3) as url,
        mcp_client(url, "token-for-alice", "legacy") as client,
    ):
        await client.list_tools()
        await anyio.sleep(0.6)  # idle between requests: keep-alive, not the head timeout, applies
        result = await client.call_tool("customer_lookup", LOOKUP)
    assert not result.is_error and result.structured_content["data"] == {"id": 5100001}


async def test_a_request_head_growing_past_the_limit_is_refused(make_runtime) -> None:
    async with serving(make_runtime(http_token=TOKENS), header_timeout=5.0) as url:
        port = int(url.rsplit(":", 1)[1])
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            padding = b"X-Padding: " + b"a" * (MAX_HEAD_BYTES + 1024) + b"\r\n"
            await stream.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding)  # and no end in sight
            with anyio.fail_after(30):
                answer = await stream.receive()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_one_caller_may_use_the_whole_connection_pool_by_default(make_runtime, recorder: Recorder) -> None:
    """One copilot token serving many people: 12 of its calls reach Capillary at once (the old limit was 8)."""
    together = threading.Barrier(12, timeout=20)

    def all_at_once(request: Recorded) -> Reply:
        try:
            together.wait()
        except threading.BrokenBarrierError:
            return Reply(503, {"errors": [{"code": 503, "message": "not all twelve arrived together"}]})
        return Reply(200, {"data": {"id": 5100001}})

    recorder.on("GET", "/v2/customers/lookup/customerDetails", all_at_once)
    runtime = make_runtime(http_token=TOKENS, read_retries=0)
    assert runtime.limiter("alice").total_tokens == runtime.settings.max_connections == 20
    async with serving(runtime, header_timeout=10.0, stateless=True) as url:
        results: list[Any] = []

        async def one() -> None:
            async with mcp_client(url, "token-for-alice", "legacy") as client:
                results.append(await client.call_tool("customer_lookup", LOOKUP))

        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one)
    assert [r.is_error for r in results] == [False] * 12
    assert make_runtime(max_concurrent_per_caller=3).limiter("bob").total_tokens == 3
