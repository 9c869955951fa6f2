"""Resources (guides, error codes, the caller's policy, templates) in both eras, over memory, stdio and HTTP,
filtered by read-only and per-caller policies."""

from __future__ import annotations

import json
import sys
from typing import Any

import mcp_types as types
import pytest
from conftest import ROOT
from mcp import Client, MCPError, StdioServerParameters
from test_http import mcp_client, serving
from test_overview import sandbox_runtime

from cap_mcp.sandbox import SandboxApp
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
TEMPLATES = ["capillary://guides/{toolset}", "capillary://operations/{name}",
             "capillary://customers/{identifierName}/{identifierValue}"]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
async def test_resources_are_listed_and_read(make_runtime, catalog, mode: str) -> None:
    async with Client(build_server(make_runtime()), mode=mode) as client:
        first = (await client.list_resources()).resources
        second = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
        tools = (await client.list_tools()).tools
        guide = (await client.read_resource("capillary://guides/points")).contents[0]
        errors = (await client.read_resource("capillary://errors")).contents[0]
        policy = (await client.read_resource("capillary://policy")).contents[0]
        operation = (await client.read_resource("capillary://operations/points_transfer")).contents[0]
    uris = [r.uri for r in first]
    assert first == second, "the list is deterministic"
    assert uris[:2] == ["capillary://policy", "capillary://errors"]
    assert uris[2:] == [f"capillary://guides/{name}" for name in sorted(catalog.toolsets)]
    assert all(r.title and r.description and r.mime_type in ("text/markdown", "application/json") for r in first)
    assert [t.uri_template for t in templates] == TEMPLATES

    assert guide.mime_type == "text/markdown"
    text = guide.text
    assert text.startswith("# Points (`points`)") and "## Usual order" in text
    order = text.split("## Usual order")[1].split("##")[0]
    assert (
        order.index("points_is_transferrable")
        < order.index("points_transfer`")
        < order.index("points_transfer_history")
    )
    assert "| `points_transfer` | destructive | asks a person first |" in text
    assert "`points_transfer` → `points_transfer_history`" in text, "what tells whether a change took effect"
    assert "| `points_group_transfer` (through call_operation) |" in text

    assert "| 816 |" in errors.text and "## points" in errors.text and "| 401 |" in errors.text

    document = json.loads(policy.text)
    assert document["listed_tools"] == len(tools)
    opt_in = sum(1 for op in catalog if op.opt_in is not None)
    assert document["reachable_operations"] == len(catalog) + len(catalog.composites) - opt_in
    assert (document["read_only"], document["guards"], document["discovery"]) == (False, "all", True)

    described = json.loads(operation.text)
    assert (
        described["name"] == "points_transfer" and "confirmation_token" not in described["input_schema"]["properties"]
    )


async def test_every_guide_renders_and_the_usual_order_names_catalogued_tools(make_runtime, catalog) -> None:
    from cap_mcp.resources import usual_order

    for steps in usual_order().values():
        assert all(catalog.get(step["tool"]) is not None for step in steps)
    async with Client(build_server(make_runtime(toolsets=("all",)))) as client:
        for name in sorted(catalog.toolsets):
            text = (await client.read_resource(f"capillary://guides/{name}")).contents[0].text
            assert f"(`{name}`)" in text and "## Tools you can use" in text
        overview = (await client.read_resource("capillary://operations/customer_overview")).contents[0].text
    assert json.loads(overview)["composite_of"][0] == "customer_lookup"


async def test_read_only_lists_only_what_can_be_used(make_runtime, catalog) -> None:
    async with Client(build_server(make_runtime(read_only=True))) as client:
        uris = [r.uri for r in (await client.list_resources()).resources]
        guide = (await client.read_resource("capillary://guides/points")).contents[0].text
        policy = json.loads((await client.read_resource("capillary://policy")).contents[0].text)
        with pytest.raises(MCPError) as refused:
            await client.read_resource("capillary://operations/points_transfer")
    writes_only = {op.toolset for op in catalog} - {op.toolset for op in catalog if op.max_effect == "read"}
    assert not {f"capillary://guides/{name}" for name in writes_only} & set(uris)
    assert "points_transfer`" not in guide and "points_transfer_history" in guide
    assert "Nothing here asks for confirmation for you." in guide
    assert policy["read_only"] is True and "Read-only" in policy["meaning"][0]
    assert refused.value.error.code == types.INVALID_PARAMS


@pytest.mark.parametrize(
    "uri",
    ["capillary://nothing", "capillary://guides/pointz", "capillary://operations/points_transfr", "file:///etc/passwd"],
)
async def test_unknown_resources_are_invalid_params(make_runtime, uri: str) -> None:
    async with Client(build_server(make_runtime())) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri)
    assert refused.value.error.code == types.INVALID_PARAMS and uri in refused.value.error.message


# --- per-caller policies over HTTP ---------------------------------------------------------------------------

POLICIES = {
    "lookup": {"read_only": True},
    "points-desk": {"toolsets": ["points"], "discovery": "off"},
}
TOKENS = "lookup:token-for-lookup,points-desk:token-for-points,other:token-for-other"


@pytest.mark.parametrize("mode", MODES)
async def test_each_http_caller_sees_its_own_resources_prompts_and_overview(catalog, tmp_path, mode: str) -> None:
    app = SandboxApp(catalog)
    runtime = sandbox_runtime(app, tmp_path, http_token=TOKENS, caller_policies=json.dumps(POLICIES))
    seen: dict[str, dict[str, Any]] = {}
    async with serving(runtime) as url:
        for caller, token in (("lookup", "token-for-lookup"), ("points-desk", "token-for-points"),
                              ("other", "token-for-other")):  # fmt: skip
            async with mcp_client(url, token, mode) as client:
                view: dict[str, Any] = {
                    "resources": [r.uri for r in (await client.list_resources()).resources],
                    "templates": [t.uri_template for t in (await client.list_resource_templates()).resource_templates],
                    "prompts": [p.name for p in (await client.list_prompts()).prompts],
                    "policy": json.loads((await client.read_resource("capillary://policy")).contents[0].text),
                    "overview": await client.call_tool(
                        "customer_overview", {"identifierName": "mobile", "identifierValue": "919800000003"}
                    ),
                }
                try:
                    customer = await client.read_resource("capillary://customers/mobile/919800000003")
                    view["customer"] = json.loads(customer.contents[0].text)
                except MCPError as exc:
                    view["customer"] = exc.error.code
                seen[caller] = view
    lookup, desk, other = seen["lookup"], seen["points-desk"], seen["other"]
    assert lookup["policy"]["caller"] == "lookup" and lookup["policy"]["read_only"] is True
    assert desk["policy"]["caller"] == "points-desk" and desk["policy"]["toolsets_reachable"] == ["points"]
    assert "lookup" not in json.dumps(desk["policy"]) and "token-for" not in json.dumps(seen, default=str)
    assert "move_points_in_family" not in lookup["prompts"] and "points_missing_on_bill" in lookup["prompts"]
    assert lookup["overview"].structured_content["loyalty"]["points"] == 2600, "a read: the read-only caller may"
    assert lookup["customer"]["loyalty"]["tier"] == "Gold"
    assert desk["resources"] == ["capillary://policy", "capillary://errors", "capillary://guides/points"]
    assert desk["prompts"] == [] and TEMPLATES[2] not in desk["templates"]
    assert desk["overview"].is_error and "not enabled" in desk["overview"].content[0].text
    assert desk["customer"] == types.INVALID_PARAMS
    assert set(other["prompts"]) == {"blocked_or_fraud_account", "coupon_wont_apply", "move_points_in_family",
                                     "points_missing_on_bill"}  # fmt: skip
    assert other["overview"].structured_content["coupons"]["active"] == 0


# --- stdio -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_over_stdio_with_the_sandbox(tmp_path, mode: str) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "cap_mcp", "serve", "--sandbox"],
        cwd=str(ROOT),
        env={"CAP_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl")},
    )
    async with Client(params, mode=mode) as client:
        resources = [r.uri for r in (await client.list_resources()).resources]
        policy = json.loads((await client.read_resource("capillary://policy")).contents[0].text)
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        rendered = await client.get_prompt(
            "coupon_wont_apply",
            {"couponCode": "BDAY-CHEN-01", "identifierName": "email", "identifierValue": "chen.wei@example.com"},
        )
        overview = await client.call_tool("customer_overview", {"identifierName": "externalId",
                                                                "identifierValue": "EXT-1001"})  # fmt: skip
        kinds = await client.complete(types.PromptReference(name="coupon_wont_apply"),
                                      {"name": "identifierName", "value": "ex"})  # fmt: skip
    assert "capillary://guides/customer" in resources and policy["caller"].startswith("(this connection")
    assert len(prompts) == 4 and "BDAY-CHEN-01" in rendered.messages[0].content.text
    assert overview.structured_content["coupons"]["active_shown"][0]["code"] == "WELCOME-ASHA-01"
    assert kinds.completion.values == ["externalId"]
