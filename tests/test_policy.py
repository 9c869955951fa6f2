"""One policy, every door: MCP tools, the discovery call tool, `cap-mcp call`, and each HTTP caller's own policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, TRANSFER_ARGS
from mcp import Client
from recorder import Recorder
from test_http import mcp_client, serving

from cap_mcp.config import ConfigError
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio

UPDATE = {"customerId": 5100001, "source": "INSTORE", "profiles": [{"firstName": "Asha", "fields": {"city": "Pune"}}]}
LOOKUP = {"identifierName": "mobile", "identifierValue": "919800000001", "source": "INSTORE"}

# (settings, tool, arguments) -> the decision every door must make without a person at hand.
DOORS = [
    ({"read_only": True}, "points_transfer", TRANSFER_ARGS, "not_available"),
    ({"exclude_tools": ("points_transfer",)}, "points_transfer", TRANSFER_ARGS, "not_available"),
    ({"guards": "all"}, "customer_update", UPDATE, "confirmation_required"),
    ({"guards": "destructive"}, "customer_update", UPDATE, "success"),
    ({"guards": "destructive"}, "points_transfer", TRANSFER_ARGS, "confirmation_required"),
    ({"guards": "off"}, "points_transfer", TRANSFER_ARGS, "success"),
]


def _env_for(settings: dict[str, Any], recorder: Recorder, tmp_path: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "CAP_MCP_BASE_URL": recorder.url, "CAP_MCP_USERNAME": "store.server",
           "CAP_MCP_PASSWORD": "server123", "CAP_MCP_AUDIT_LOG": str(tmp_path / "cli-audit.jsonl")}  # fmt: skip
    for key, value in settings.items():
        env["CAP_MCP_" + key.upper()] = ",".join(value) if isinstance(value, tuple) else str(value).lower()
    return env


@pytest.mark.parametrize(("settings", "tool", "arguments", "decision"), DOORS)
async def test_the_terminal_decides_like_mcp(
    make_runtime, recorder: Recorder, tmp_path: Path, settings: dict[str, Any], tool: str, arguments: Any, decision: str
) -> None:
    path = "/v2/points/transfer" if tool == "points_transfer" else "/v2/customers/5100001"
    async with Client(build_server(make_runtime(**settings))) as client:
        direct = await client.call_tool(tool, arguments)
        via_discovery = await client.call_tool("call_operation", {"name": tool, "arguments": arguments})
    mcp_writes = len(recorder.calls(path=path))
    assert direct.structured_content["status"] == via_discovery.structured_content["status"] == decision
    recorder.requests.clear()
    # The terminal without --yes and without a terminal: it refuses wherever a person would be asked.
    out = subprocess.run([sys.executable, "-m", "cap_mcp", "call", tool, "--args", json.dumps(arguments)],
                         capture_output=True, text=True, cwd=ROOT, env=_env_for(settings, recorder, tmp_path),
                         timeout=60)  # fmt: skip
    structured = json.loads(out.stdout)
    expected = "not_executed" if decision == "confirmation_required" else decision
    assert structured["status"] == expected, out.stderr
    assert mcp_writes == (2 if decision == "success" else 0), "direct and through call_operation"
    assert len(recorder.calls(path=path)) == (1 if decision == "success" else 0)
    if decision == "not_available":
        assert direct.content[0].text.split("—")[1] in out.stderr, "the same reason at both doors"


POLICIES = {
    "lookup": {"read_only": True},
    "copilot": {"toolsets": ["default"], "discovery": "selected", "exclude_tools": ["points_reverse"]},
}
TOKENS = "lookup:token-for-lookup,copilot:token-for-copilot,other:token-for-other"


async def test_two_http_callers_each_list_and_call_exactly_their_own_set(make_runtime, recorder: Recorder) -> None:
    runtime = make_runtime(http_token=TOKENS, caller_policies=json.dumps(POLICIES))
    async with serving(runtime) as url:
        async with mcp_client(url, "token-for-lookup") as lookup:
            lookup_tools = {t.name for t in (await lookup.list_tools()).tools}
            refused = await lookup.call_tool("points_transfer", TRANSFER_ARGS)
            refused_inner = await lookup.call_tool("call_operation", {"name": "points_reverse", "arguments": {}})
            read = await lookup.call_tool("customer_lookup", LOOKUP)
            read_inner = await lookup.call_tool("call_operation", {"name": "events_list", "arguments": {}})
        async with mcp_client(url, "token-for-copilot") as copilot:
            copilot_tools = {t.name for t in (await copilot.list_tools()).tools}
            first = await copilot.call_tool("points_transfer", TRANSFER_ARGS)
            token = first.structured_content["confirmation_token"]
            excluded = await copilot.call_tool("points_reverse", {})
            outside = await copilot.call_tool("events_list", {})
        async with mcp_client(url, "token-for-other") as other:
            other_tools = {t.name for t in (await other.list_tools()).tools}
            stolen = await other.call_tool("points_transfer", {**TRANSFER_ARGS, "confirmation_token": token})
    changes = {op.name for op in runtime.catalog if op.max_effect != "read"}
    assert lookup_tools and not lookup_tools & changes, "a read-only caller lists no change"
    assert "call_operation" in lookup_tools and "points_transfer" not in lookup_tools
    assert refused.is_error and "read-only" in refused.content[0].text
    assert refused_inner.is_error and "read-only" in refused_inner.content[0].text
    assert not read.is_error and not read_inner.is_error
    assert "points_transfer" in copilot_tools and "points_reverse" not in copilot_tools
    assert "call_operation" not in copilot_tools, "discovery limited to what is listed adds nothing"
    assert excluded.is_error and "excluded" in excluded.content[0].text
    assert outside.is_error and "not enabled" in outside.content[0].text
    assert other_tools == {t.name for t in await _operator_tools(make_runtime)}
    assert stolen.is_error and "another caller" in stolen.content[0].text
    assert recorder.calls("POST", "/v2/points/transfer") == []


async def _operator_tools(make_runtime: Any) -> list[Any]:
    async with Client(build_server(make_runtime())) as client:
        return list((await client.list_tools()).tools)


async def test_caller_policies_are_checked_at_start_up(make_runtime, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="caller 'x': unknown field"):
        make_runtime(caller_policies='{"x": {"readonly": true}}')
    with pytest.raises(ConfigError, match=r"caller 'x'.*unknown toolset 'pointz'"):
        make_runtime(caller_policies='{"x": {"toolsets": ["pointz"]}}')
    with pytest.raises(ConfigError, match="cannot read"):
        make_runtime(caller_policies=str(tmp_path / "missing.json"))
    path = tmp_path / "policies.json"
    path.write_text(json.dumps({"x": {"guards": "off"}}))
    runtime = make_runtime(caller_policies=str(path), guards="destructive")
    assert runtime.policy_for("x").guards == "destructive", "a caller's entry can only tighten the guards"
    assert runtime.policy_for("nobody") is runtime.policy
