"""Discovery: search, describe and call every operation a caller may use, through the same path as a listed tool."""

from __future__ import annotations

import pytest
from conftest import TRANSFER_ARGS
from mcp import Client

from cap_mcp import discovery
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio


async def test_search_operations_handler(make_runtime) -> None:
    runtime = make_runtime(toolsets=("all",), dynamic=True)
    policy = runtime.policy
    for arguments in ({"query": ""}, {"query": "   "}, {}, {"query": 42}):
        result = discovery.search_operations(runtime, policy, arguments)
        assert result.is_error
        assert "needs 'query'" in result.content[0].text
    result = discovery.search_operations(runtime, policy, {"query": "give her points to her husband", "limit": 3})
    assert not result.is_error
    names = [r["name"] for r in result.structured_content["results"]]
    assert len(names) == 3 and "points_transfer" in names
    assert "Next: describe_operation" in result.content[0].text
    only = discovery.search_operations(runtime, policy, {"query": "voucher", "toolset": "coupon", "effect": "read"})
    assert all(r["toolset"] == "coupon" and r["effect"] == "read" for r in only.structured_content["results"])
    nothing = discovery.search_operations(runtime, policy, {"query": "zzqx wibble"})
    assert not nothing.is_error and nothing.structured_content == {"results": []}
    assert discovery.index_for(runtime, policy) is discovery.index_for(runtime, policy), "built once per profile"
    for huge in ("a" * 1_000_000, "points " * 150_000, "x@" * 300_000):  # refused at once, not parsed for minutes
        refused = discovery.search_operations(runtime, policy, {"query": huge})
        assert refused.is_error and "at most 1000 characters" in refused.content[0].text


async def test_the_default_profile_reaches_an_operation_of_every_toolset(make_runtime, recorder, catalog) -> None:
    """Every toolset's operations answer call_operation from a default install, validated and guarded the same."""
    runtime = make_runtime()
    listed = {op.name for op in runtime.policy.profile.listed}
    async with Client(build_server(runtime)) as client:
        for toolset in catalog.toolsets.values():
            op = next((o for o in toolset.operations if o.name not in listed and o.opt_in is None), None)
            if op is None:
                continue
            described = await client.call_tool("describe_operation", {"name": op.name})
            assert not described.is_error, op.name
            invalid = await client.call_tool("call_operation", {"name": op.name, "arguments": {"zz_unknown": 1}})
            assert invalid.is_error and invalid.structured_content["status"] == "invalid_arguments", op.name
            result = await client.call_tool(
                "call_operation", {"name": op.name, "arguments": dict(op.example["arguments"])}
            )
            status = result.structured_content["status"]
            if op.max_effect == "read":
                assert status in ("success", "partial", "failure"), (op.name, status)
            else:
                assert status == "confirmation_required", (op.name, status)
    guarded_paths = {(o.method, o.path) for o in catalog if o.max_effect != "read"}
    assert not [r for r in recorder.calls() if (r.method, r.path) in guarded_paths and r.method != "GET"]


async def test_dynamic_call_refuses_with_the_true_reason(make_runtime) -> None:
    runtime = make_runtime(exclude_tools=("points_transfer",))
    async with Client(build_server(runtime)) as client:
        excluded = await client.call_tool("call_operation", {"name": "points_transfer", "arguments": TRANSFER_ARGS})
        direct = await client.call_tool("points_transfer", TRANSFER_ARGS)
        unknown = await client.call_tool("call_operation", {"name": "points_transferz", "arguments": {}})
    for result in (excluded, direct):
        assert result.is_error and "excluded" in result.content[0].text
        assert result.structured_content["outcome"] == "not_done"
    assert unknown.is_error and "search_operations" in unknown.content[0].text
