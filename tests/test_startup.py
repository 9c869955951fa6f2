"""A stdio start-up imports nothing that only HTTP operations need (metrics, traces, JSON logs, the HTTP app)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import ROOT
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

HTTP_ONLY = ("prometheus_client", "opentelemetry.sdk", "cap_mcp.metrics", "cap_mcp.tracing", "cap_mcp.logs",
             "cap_mcp.http_app", "cap_mcp.http_protocol")  # fmt: skip


def imported(log: Path) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in log.read_text().splitlines() if line.startswith("import time:")}


async def imported_by_a_start(tmp_path: Path, *, call: bool) -> set[str]:
    """The modules `cap-mcp serve --sandbox` imports up to its first tools/list (and one call, if asked)."""
    params = StdioServerParameters(command=sys.executable, args=["-X", "importtime", "-m", "cap_mcp", "serve", "--sandbox"],
                                   env={"CAP_MCP_AUDIT_LOG": "off"}, cwd=str(ROOT))  # fmt: skip
    log = tmp_path / "importtime.txt"
    with log.open("w") as errors:
        async with Client(stdio_client(params, errlog=errors), mode="legacy") as client:
            assert len((await client.list_tools()).tools) > 20
            if call:
                arguments = {"customerId": 5100001, "source": "INSTORE"}
                assert not (await client.call_tool("customer_get", arguments)).is_error
    return imported(log)


@pytest.mark.anyio
async def test_a_stdio_start_imports_no_http_only_module(tmp_path: Path) -> None:
    modules = await imported_by_a_start(tmp_path, call=True)
    assert "cap_mcp.server" in modules and "cap_mcp.observe" in modules  # the log is what it seems
    assert sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in HTTP_ONLY)) == []


@pytest.mark.anyio
async def test_the_http_app_does_bring_its_metrics(make_runtime) -> None:
    from cap_mcp.http_app import build_http_app

    build_http_app(make_runtime())
    assert "prometheus_client" in sys.modules and "cap_mcp.metrics" in sys.modules


# Loaded on first use: the sandbox's routes (first upstream request), search and its vocabulary (first search),
# resources, prompts and completions (first request of each).
ON_FIRST_USE = ("cap_mcp.sandbox.app", "cap_mcp.search", "cap_mcp.vocabulary", "cap_mcp.resources",
                "cap_mcp.prompts", "cap_mcp.completions")  # fmt: skip


@pytest.mark.anyio
async def test_the_first_tools_list_waits_for_no_feature_it_does_not_use(tmp_path: Path) -> None:
    modules = await imported_by_a_start(tmp_path, call=False)
    assert "cap_mcp.server" in modules and "cap_mcp.sandbox.credentials" in modules
    assert sorted(m for m in modules if m in ON_FIRST_USE) == []
