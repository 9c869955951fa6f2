"""tools/list from its cached wire form: the same answer as the SDK's own path, still decided by the handler."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.server import Server
from mcp_types import methods

from cap_mcp.list_cache import ToolListCache
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]  # 2026-07-28 and 2025-11-25


@pytest.fixture
def shaped(monkeypatch) -> list[str]:
    """Counts the SDK's shaping of tools/list results (the costly part the cache saves)."""
    calls: list[str] = []
    original = methods.serialize_server_result

    def counting(method: str, version: str, data: Any, **kwargs: Any) -> dict[str, Any]:
        if method == "tools/list":
            calls.append(version)
        return original(method, version, data, **kwargs)

    def validating(method: str, version: str, data: Any, **kwargs: Any) -> None:
        original(method, version, data, **kwargs)  # the client's check of what it received is not counted

    monkeypatch.setattr(methods, "serialize_server_result", counting)
    monkeypatch.setattr(methods, "validate_server_result", validating)
    return calls


@pytest.mark.parametrize("mode", MODES)
async def test_the_cached_listing_is_the_sdks_listing(make_runtime, shaped: list[str], mode: str) -> None:
    runtime = make_runtime(toolsets="all")
    cached = build_server(runtime)
    plain = build_server(runtime)
    plain.middleware = [m for m in plain.middleware if not isinstance(m, ToolListCache)]
    async with Client(cached, mode=mode) as first, Client(cached, mode=mode) as second, Client(plain, mode=mode) as sdk:
        listings = [await first.list_tools(), await second.list_tools(), await first.list_tools()]
        expected = await sdk.list_tools()
    assert len(expected.tools) == len(runtime.profile.listed) and len(expected.tools) > 250
    for listing in listings:
        assert listing.model_dump() == expected.model_dump()
    assert len(shaped) == 2  # once for the cached server (then reused twice), once for the plain one


@pytest.mark.parametrize("mode", MODES)
async def test_the_handler_still_decides_what_is_listed(shaped: list[str], mode: str) -> None:
    small = [types.Tool(name="a", input_schema={"type": "object"})]
    large = [*small, types.Tool(name="b", input_schema={"type": "object"})]
    chosen = {"tools": small}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=chosen["tools"])

    server: Server[Any] = Server("t", on_list_tools=list_tools)
    server.middleware.append(ToolListCache(server))
    async with Client(server, mode=mode) as client:
        names = [[t.name for t in (await client.list_tools()).tools]]
        chosen["tools"] = large
        names.append([t.name for t in (await client.list_tools()).tools])
        chosen["tools"] = small
        names.append([t.name for t in (await client.list_tools()).tools])
        chosen["tools"] = [types.Tool(name="a", input_schema={"type": "object"})]  # equal, but new objects
        names.append([t.name for t in (await client.list_tools()).tools])
    assert names == [["a"], ["a", "b"], ["a"], ["a"]]
    assert len(shaped) == 3  # small, large, the new objects; the second "small" came from the cache
