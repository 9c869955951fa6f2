"""Logs on stderr: quiet by default, one line per tool call at INFO, JSON lines on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT
from recorder import Recorder
from test_http import TOKENS, free_port, mcp_client, wait_for

pytestmark = pytest.mark.anyio

LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}


@contextmanager
def http_server(recorder: Recorder, tmp_path: Path, *flags: str, **env: str) -> Iterator[tuple[str, Path]]:
    """`cap-mcp serve --transport http` with these flags; yields its URL and the file its stderr goes to."""
    port, log = free_port(), tmp_path / "stderr.log"
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("CAP_MCP_", "OTEL_"))}
    environment.update(CAP_MCP_BASE_URL=recorder.url, CAP_MCP_USERNAME="store.server", CAP_MCP_PASSWORD="server123",
                       CAP_MCP_HTTP_TOKEN=TOKENS, CAP_MCP_AUDIT_LOG="off", **env)  # fmt: skip
    command = [sys.executable, "-m", "cap_mcp", *flags, "serve", "--transport", "http", "--port", str(port)]
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(20)


async def calls(url: str) -> None:
    async with mcp_client(url, "token-for-alice") as alice:
        await alice.call_tool("customer_lookup", LOOKUP)
        await alice.call_tool("customer_lookup", {})
    async with mcp_client(url, "token-for-bob", "legacy") as bob:
        await bob.call_tool("customer_lookup", LOOKUP)


async def test_json_lines_at_info_one_per_tool_call(recorder: Recorder, tmp_path: Path) -> None:
    with http_server(recorder, tmp_path, "--log-level", "INFO", CAP_MCP_LOG_FORMAT="json") as (url, log):
        await calls(url)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    started = [line for line in lines if line["logger"] == "cap_mcp.http"]
    assert started and started[0]["level"] == "INFO" and "/mcp" in started[0]["message"]
    tool_calls = [line for line in lines if line["logger"] == "cap_mcp.calls"]
    assert [(c["tool"], c["outcome"], c["caller"]) for c in tool_calls] == [
        ("customer_lookup", "done", "alice"),
        ("customer_lookup", "invalid", "alice"),
        ("customer_lookup", "done", "bob"),
    ]
    assert all(c["level"] == "INFO" and c["request_id"] is not None and c["duration_ms"] >= 0 for c in tool_calls)
    # Quiet: nothing from the HTTP libraries or the SDK at INFO, and no argument anywhere.
    assert not [line for line in lines if line["level"] == "INFO" and line["logger"].startswith(("httpx", "httpcore",
                                                                                                   "mcp", "uvicorn"))]  # fmt: skip
    assert "919800000001" not in log.read_text() and "token-for-alice" not in log.read_text()


async def test_the_default_is_quiet(recorder: Recorder, tmp_path: Path) -> None:
    with http_server(recorder, tmp_path) as (url, log):
        await calls(url)
    assert log.read_text() == ""


async def test_text_lines_at_info_name_the_call(recorder: Recorder, tmp_path: Path) -> None:
    with http_server(recorder, tmp_path, "--log-level", "info") as (url, log):
        await calls(url)
    text = log.read_text()
    assert "INFO cap_mcp.http: cap-mcp serving Streamable HTTP on http://127.0.0.1:" in text
    assert text.count("INFO cap_mcp.calls: tools/call customer_lookup") == 3
    assert "tools/call customer_lookup: invalid" in text and "(caller alice, request " in text
    assert "httpx" not in text and "919800000001" not in text
