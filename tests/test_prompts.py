"""Prompts: support workflows as data, listed and rendered for the caller's policy, and walked against the sandbox."""

from __future__ import annotations

import json
import re
from typing import Any

import mcp_types as types
import pytest
from conftest import answering
from mcp import Client, MCPError
from test_overview import sandbox_runtime

from cap_mcp import prompts
from cap_mcp.catalog import CatalogError
from cap_mcp.discovery import NAMES as DISCOVERY
from cap_mcp.request_builder import get_dotted
from cap_mcp.sandbox import SandboxApp
from cap_mcp.server import build_server

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]

# Arguments that walk each prompt against the sandbox's seed customers (README "The sandbox").
WALKS: dict[str, dict[str, str]] = {
    "points_missing_on_bill": {"identifierName": "mobile", "identifierValue": "919800000001",
                               "billNumber": "BILL-2001", "billAmount": "800"},
    "coupon_wont_apply": {"couponCode": "SUMMER-BEN-01", "identifierName": "mobile", "identifierValue": "919800000002",
                          "replacementSeriesId": "3001"},
    "move_points_in_family": {"fromMobile": "919800000001", "toMobile": "919800000002", "points": "120",
                              "reason": "family pooling"},
    "blocked_or_fraud_account": {"identifierName": "mobile", "identifierValue": "919800000005", "label": "Active",
                                 "reason": "cleared by the fraud team"},
}  # fmt: skip


def tool_names_in(text: str, known: set[str]) -> set[str]:
    return {word for word in re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text) if word in known}


def test_every_prompt_uses_catalogued_tools_and_declared_values(catalog) -> None:
    specs = prompts.load_prompts(catalog)
    assert len(specs) >= 4 and set(WALKS) == {spec.name for spec in specs}
    for spec in specs:
        for step in spec.steps:
            assert catalog.get(step.tool) is not None, step.tool
        for arg in spec.arguments:
            assert arg.choices is None or arg.choices, f"{spec.name}.{arg.name}: empty choices"
    assert prompts.specs(catalog) is prompts.specs(catalog), "loaded once per catalogue"


def test_a_prompt_naming_an_unknown_tool_is_refused(catalog, tmp_path) -> None:
    from cap_mcp.catalog import schema_dir

    data = json.loads((schema_dir() / "prompts.json").read_text())
    data["prompts"][0]["steps"][0]["tool"] = "customer_lookupp"
    (tmp_path / "prompts.json").write_text(json.dumps(data))
    with pytest.raises(CatalogError, match="unknown tool 'customer_lookupp'"):
        prompts.load_prompts(catalog, tmp_path)


@pytest.mark.parametrize("mode", MODES)
async def test_every_prompt_renders_and_names_only_tools_of_the_profile(make_runtime, catalog, mode: str) -> None:
    runtime = make_runtime()
    known = {op.name for op in catalog} | set(catalog.composites) | DISCOVERY
    async with Client(build_server(runtime), mode=mode) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = {name: await client.get_prompt(name, WALKS[name]) for name in listed}
    assert set(listed) == set(WALKS)
    points = listed["points_missing_on_bill"]
    assert points.title and points.description
    assert [(a.name, a.required) for a in points.arguments] == [("identifierName", True), ("identifierValue", True),
                                                                 ("billNumber", True), ("billAmount", False)]  # fmt: skip
    for name, result in rendered.items():
        text = result.messages[0].content.text
        spec = prompts.find(catalog, runtime.policy, name)
        named = tool_names_in(text, known)
        assert named <= {op.name for op in runtime.policy.profile.operations} | DISCOVERY, name
        assert [s.tool for s in spec.steps] == [m.group(1) for m in re.finditer(r"^\d+\. (\w+) —", text, re.M)]
        assert "Left out here" not in text
    transfer = rendered["move_points_in_family"].messages[0].content.text
    assert '"pointsTobeTransferred": 120' in transfer, "numbers are numbers in the calls"
    assert "asks a person to confirm this exact call" in transfer
    assert "<the code the sender received by SMS" in transfer
    bill = rendered["points_missing_on_bill"].messages[0].content.text
    assert "BILL-2001" in bill and '"billAmount": 800' in bill


async def test_a_read_only_caller_gets_no_prompt_that_needs_a_change(make_runtime, catalog) -> None:
    runtime = make_runtime(read_only=True)
    changes = {op.name for op in catalog if op.max_effect != "read"}
    async with Client(build_server(runtime)) as client:
        listed = {p.name for p in (await client.list_prompts()).prompts}
        bill = (await client.get_prompt("points_missing_on_bill", WALKS["points_missing_on_bill"])).messages[0]
        with pytest.raises(MCPError) as hidden:
            await client.get_prompt("move_points_in_family", WALKS["move_points_in_family"])
    assert "move_points_in_family" not in listed and "points_missing_on_bill" in listed
    assert hidden.value.error.code == types.INVALID_PARAMS
    text = bill.content.text
    assert not tool_names_in(text, changes), "no tool the caller cannot use is named"
    assert "transaction_earning" not in text, "a step that needs the left-out step's result goes too"
    assert "Left out here: record the missing bill" in text


async def test_a_tool_reachable_only_through_discovery_is_shown_as_call_operation(make_runtime) -> None:
    async with Client(build_server(make_runtime(toolsets=("points",)))) as client:
        text = (await client.get_prompt("points_missing_on_bill", WALKS["points_missing_on_bill"])).messages[0]
    assert 'call_operation {"name": "customer_overview", "arguments": {"identifierName": "mobile"' in text.content.text
    assert "Call: points_ledger_info {" in text.content.text


async def test_guards_decide_the_confirmation_a_prompt_announces(make_runtime) -> None:
    async with Client(build_server(make_runtime(guards="off"))) as client:
        text = (await client.get_prompt("move_points_in_family", WALKS["move_points_in_family"])).messages[0]
    assert "runs at once here" in text.content.text and "asks a person" not in text.content.text


async def test_without_the_required_tools_no_prompt_is_listed(make_runtime) -> None:
    async with Client(build_server(make_runtime(toolsets=("points",), discovery="off"))) as client:
        assert (await client.list_prompts()).prompts == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"identifierName": "mobile", "identifierValue": "1"}, "missing required argument 'billNumber'"),
        ({"identifierName": "phone", "identifierValue": "1", "billNumber": "B"}, "'identifierName' must be one of"),
        ({**WALKS["points_missing_on_bill"], "billAmount": "lots"}, "'billAmount' must be a number"),
        ({**WALKS["points_missing_on_bill"], "store": "x"}, "unknown argument(s) store"),
    ],
)
async def test_bad_prompt_arguments_say_what_to_fix(make_runtime, arguments: dict[str, str], message: str) -> None:
    async with Client(build_server(make_runtime())) as client:
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("points_missing_on_bill", arguments)
    assert refused.value.error.code == types.INVALID_PARAMS and message in refused.value.error.message


# --- walking each prompt against the sandbox ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(WALKS))
async def test_each_prompt_walks_against_the_sandbox(catalog, tmp_path, name: str) -> None:
    """Every step's call, with the prompt's arguments and the facts earlier steps gave, runs in the sandbox."""
    app = SandboxApp(catalog)
    runtime = sandbox_runtime(app, tmp_path)
    spec = prompts.find(catalog, runtime.policy, name)
    assert spec is not None
    values: dict[str, Any] = prompts.check_arguments(spec, WALKS[name])
    results: dict[str, Any] = {}
    before = {uid: c.points for uid, c in app.state.customers.items()}
    coupons_before = len(app.state.coupons)
    async with Client(build_server(runtime), elicitation_callback=answering("accept")) as client:
        for step in spec.steps:
            for fact, source in spec.facts.items():
                if "from" in source and source["from"] in results:
                    values.setdefault(fact, get_dotted(results[source["from"]], source["path"]))
                elif "ask" in source and fact == "code" and "points_is_transferrable" in results:
                    values.setdefault(fact, results["points_is_transferrable"]["data"]["sandbox"]["otp"])
            arguments = prompts.call_arguments(step, values)
            result = await client.call_tool(step.tool, arguments)
            status = result.structured_content.get("status")
            assert status not in ("invalid_arguments", "not_available", "internal_error"), (step.tool, result)
            if catalog.get(step.tool).max_effect != "read":
                assert status == "success", (step.tool, result.content[0].text)
            results[step.tool] = result.structured_content
    state = app.state
    if name == "points_missing_on_bill":
        assert state.customers[5100001].points == before[5100001] + 80
        assert results["customer_loyalty_details"]["data"]["data"][0]["loyaltyPoints"] == before[5100001] + 80
    elif name == "move_points_in_family":
        assert (state.customers[5100001].points, state.customers[5100002].points) == (before[5100001] - 120,
                                                                                        before[5100002] + 120)  # fmt: skip
        assert results["points_transfer_history"]["data"]["data"][0]["pointsTransferred"] == 120
    elif name == "coupon_wont_apply":
        assert results["coupon_get"]["data"]["data"][0]["seriesId"] == 3003
        assert len(state.coupons) == coupons_before + 1
    else:
        assert results["customer_overview"]["customer"]["fraud_status"] == "MARKED"
